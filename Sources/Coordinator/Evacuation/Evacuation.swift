import Foundation
import Shared

/// Empties one host: maintenance first (so nothing new lands on it), a fresh
/// survey, a plan that never targets a host in maintenance (which is what
/// makes several evacuations at once safe: each host being emptied is in
/// maintenance before its plan is made), the migrations, then a fresh look
/// at the host to say what is left.
struct Evacuation: Sendable {
    let config: CoordConfig
    let journal: MigrationJournal
    let host: String
    let parallel: Int
    let request: MigrationRequest
    let output: MovesOutput
    let abort: AbortSignal

    static let defaultReason = "evacuation (coord evacuate)"

    var limits: MigrationLimits {
        var limits = MigrationLimits()
        if let link = config.migrationLinkMiBps { limits.bandwidthBytesPerSecond = link * 1_048_576 }
        return limits.evacuating(parallel: parallel)
    }

    /// Puts the host in maintenance unless it already is (keeping the
    /// operator's reason). Returns whether this call put it there.
    @discardableResult
    func enterMaintenance(reason: String?) async throws -> Bool {
        if try await journal.maintenance(host: host) != nil {
            if let reason { try await journal.setMaintenance(host, on: true, reason: reason) }
            return false
        }
        return try await journal.setMaintenance(host, on: true, reason: reason ?? Self.defaultReason)
    }

    /// The whole evacuation, as `coord evacuate` and a coordinator cluster's
    /// leader run it: maintenance, a plan on a fresh survey, the migrations,
    /// the report, each shown on `output` as it happens.
    func perform(reason: String?) async throws -> EvacuationReport {
        let entered = try await enterMaintenance(reason: reason)
        output.maintenance(host: host, entered: entered, reason: try await journal.maintenance(host: host)?.reason)
        let plan = try await plan()
        output.plan(plan, host: host, parallel: parallel, dryRun: false)
        let report = await run(plan)
        output.finish(report, text: EvacuationReportText.render(report))
        return report
    }

    /// The plan on the live cluster; throws if the host does not answer
    /// (its VMs cannot be moved without its agent).
    func plan() async throws -> EvacuationPlan {
        let live = try await LiveSnapshot.take(config: config, journal: journal)
        if let down = live.reports.first(where: { $0.name == host && $0.state == .down }) {
            throw CoordError.conflict("\(host) does not answer (\(down.reason ?? "no reason given")): its VMs cannot be migrated without its agent"
                + (try await journal.maintenance(host: host) != nil ? "; it stays in maintenance (coord maintenance exit \(host))" : ""))
        }
        return EvacuationPlanner.plan(live.snapshot, evacuating: [host], limits: limits)
    }

    /// Runs the plan's migrations and reports, VM by VM, and what the host
    /// still runs afterwards.
    ///
    /// A migration the executor refused touched nothing, and the cluster may
    /// have changed since the plan (most often: another host being evacuated
    /// entered maintenance just after this plan was made, so its pre-check
    /// refused it as a target). Those VMs get one more plan, on a fresh
    /// survey, and one more try.
    func run(_ plan: EvacuationPlan) async -> EvacuationReport {
        let jobs = plan.schedule.slots.map { MigrationQueue.Job(vm: $0.vm, source: $0.source, target: $0.target) }
        output.begin(title: "evacuating \(host)", jobs: jobs)
        let startedAt = Date()
        let began = ContinuousClock.now
        let runner = EvacuationRunner(
            config: config, journal: journal, abort: abort, request: request, limits: limits, emit: { [output] in output.show($0) })
        var results = Dictionary(uniqueKeysWithValues: await runner.run(plan).map { ($0.vm, $0) })
        let refused = Set(results.values.filter { $0.outcome == .refused }.map(\.vm))
        if !refused.isEmpty, !abort.raised, let again = try? await self.plan() {
            output.say("\(refused.count) refused; planning \(refused.sorted().joined(separator: ", ")) again on a fresh survey")
            let retry = again.schedule.slots.filter { refused.contains($0.vm) }.map { MigrationQueue.Job(vm: $0.vm, source: $0.source, target: $0.target) }
            for result in await runner.run(MigrationQueue(jobs: retry, limits: limits)) {
                var result = result
                if result.outcome != .moved, let first = results[result.vm]?.reason, first != result.reason { result.reason = (result.reason ?? "") + " (first try: \(first))" }
                results[result.vm] = result
            }
            for unplaced in again.unplaced where refused.contains(unplaced.vm) {
                results[unplaced.vm] = MoveResult(unplaced: unplaced)
            }
        }
        let wall = (ContinuousClock.now - began).milliseconds / 1000
        let entries = jobs.compactMap { results[$0.vm] } + plan.unplaced.map(MoveResult.init(unplaced:))
        return EvacuationReport(
            host: host, parallel: parallel, startedAt: startedAt, wallSeconds: wall, entries: entries,
            leftOnHost: await vmsLeft())
    }

    /// The VMs defined on the host now, in any state (one arriving counts:
    /// it would land there), from a fresh survey; nil if it did not answer.
    func vmsLeft() async -> [String]? {
        let report = await ClusterSurvey(config: config).survey(hosts: [host]).first
        return report?.inventory?.vms.map(\.name).sorted()
    }
}
