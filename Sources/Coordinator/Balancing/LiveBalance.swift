import Foundation

/// Balancing on the live cluster: a survey with the journal's maintenance
/// flags and last moves (for the cool-down), the `Balancer`'s plan, then its
/// moves one after another through the migration executor. Shared by
/// `coord balance` and `coord serve`.
struct LiveBalance: Sendable {
    let config: CoordConfig
    let journal: MigrationJournal
    let abort: AbortSignal
    let options: BalanceOptions
    /// Mode, downtime, bandwidth and verification for every move.
    let request: MigrationRequest
    let emit: @Sendable (MoveEvent) -> Void

    /// The plan on a fresh survey. Hosts that did not answer are left out of
    /// it: nothing moves to or from them.
    func plan() async throws -> (plan: BalancePlan, live: LiveSnapshot) {
        let live = try await LiveSnapshot.take(config: config, journal: journal)
        return (Balancer.plan(live.snapshot, options: options, now: live.snapshot.takenAt ?? Date()), live)
    }

    /// Makes the moves in order. Each move was planned on top of the ones
    /// before it, so the first that does not succeed ends the round (the rest
    /// are reported not started); so does `abort`, or `proceed` saying no
    /// before a move (a service shutting down).
    func run(_ plan: BalancePlan, proceed: @Sendable () -> Bool = { true }) async -> [MoveResult] {
        var results: [MoveResult] = []
        var stop: String?
        for move in plan.moves {
            let job = MigrationQueue.Job(vm: move.vm, source: move.source, target: move.target)
            if stop == nil, abort.raised { stop = "aborted before it started" }
            if stop == nil, !proceed() { stop = "not started: shutting down" }
            if let stop {
                let result = MoveResult(vm: move.vm, source: move.source, target: move.target, outcome: .notStarted, reason: stop)
                results.append(result)
                emit(.finished(result))
                continue
            }
            emit(.started(job))
            let emit = self.emit
            let executor = MigrationExecutor(config: config, journal: journal, abort: abort, emit: { emit(.migration(vm: move.vm, $0)) })
            let result = await MoveResult.migrate(job, executor: executor, request: request)
            results.append(result)
            emit(.finished(result))
            if result.outcome != .moved {
                stop = "not started: the move of \(move.vm) before it did not succeed, and this one was planned on top of it"
            }
        }
        return results
    }

    /// The cluster's score now, from a fresh survey.
    func score() async throws -> Double {
        let live = try await LiveSnapshot.take(config: config, journal: journal)
        return ClusterScore(PlanningCluster(live.snapshot), memoryWeight: options.memoryWeight, cpuWeight: options.cpuWeight).value
    }
}

/// How a live balancing round ended (`coord balance --json`, last line).
struct BalanceReport: Codable, Sendable {
    var plan: BalancePlan
    var moves: [MoveResult]
    /// Measured on a fresh survey after the moves; nil if that failed.
    var scoreAfter: Double?

    var allMoved: Bool { moves.allSatisfy { $0.outcome == .moved } }
}

/// Balance plans and reports as text.
enum BalanceText {
    /// VMs the cool-down keeps in place at `now`.
    static func coolingDown(_ snapshot: ClusterSnapshot, options: BalanceOptions, now: Date) -> Int {
        snapshot.vms.count { vm in vm.lastMovedAt.map { now.timeIntervalSince($0) < options.coolDownSeconds } ?? false }
    }

    static func plan(_ plan: BalancePlan, options: BalanceOptions, coolingDown: Int = 0) -> String {
        var lines = [String(format: "score %.4f -> %.4f in %d move%@", plan.scoreBefore, plan.scoreAfter, plan.moves.count, plan.moves.count == 1 ? "" : "s")]
        var notes: [String] = []
        if plan.moves.isEmpty { notes.append(String(format: "no move lowers it by %g or more", options.minGain)) }
        if coolingDown > 0 {
            notes.append("\(coolingDown) VM\(coolingDown == 1 ? "" : "s") that migrated in the last \(Int(options.coolDownSeconds)) s left alone (cool-down)")
        }
        if !notes.isEmpty { lines[0] += ": " + notes.joined(separator: "; ") }
        for (i, move) in plan.moves.enumerated() {
            lines.append("\(i + 1). \(move.vm) \(move.source) -> \(move.target) (\(ByteFormat.string(move.bytes)), gain \(String(format: "%.4f", move.gain)))")
        }
        return lines.joined(separator: "\n")
    }

    static func report(_ report: BalanceReport) -> String {
        guard !report.moves.isEmpty else { return "nothing moved" }
        var table = TextTable("VM", "FROM", "TO", "RESULT", "MODE", "DOWNTIME QEMU/GUEST", "TIME", "NOTE")
        for result in report.moves {
            let figures = result.migration?.figures
            table.add(
                result.vm, result.source, result.target ?? "-", EvacuationReportText.result(result), result.migration?.mode ?? "-",
                EvacuationReportText.downtime(figures),
                figures?.totalMs.map { EvacuationReportText.seconds($0 / 1000) } ?? "-",
                result.outcome == .moved ? "" : (result.reason ?? ""))
        }
        let moved = report.moves.count { $0.outcome == .moved }
        var summary = "\(moved) of \(report.moves.count) move\(report.moves.count == 1 ? "" : "s") made"
        if let after = report.scoreAfter {
            summary += String(format: "; score %.4f -> %.4f (planned %.4f)", report.plan.scoreBefore, after, report.plan.scoreAfter)
        }
        return EvacuationReportText.trimmed(table.render()) + "\n" + summary + "."
    }
}
