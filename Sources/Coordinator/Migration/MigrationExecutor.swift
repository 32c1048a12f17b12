import Foundation
import Shared
import Synchronization

/// Moves one VM: prepare (target listens, paused), perform (source streams,
/// pauses before switchover, continues when authorised), finish (target
/// resumes, the guest is verified alive), confirm (source QEMU ended).
/// Every step is written to the journal before it is taken; any failure
/// before the guest is verified on the target leaves it running on the
/// source, and the target's QEMU is destroyed.
struct MigrationExecutor: Sendable {
    let config: CoordConfig
    let journal: MigrationJournal
    let abort: AbortSignal
    let emit: @Sendable (MigrationEvent) -> Void

    func run(_ request: MigrationRequest) async throws -> MigrationReport {
        emit(.phase("locating \(request.vm) and checking \(request.target)"))
        let targetHost = try config.host(named: request.target)
        let reports = await ClusterSurvey(config: config).survey()
        let location = try VMLocator.locate(request.vm, in: reports, config: config)
        guard location.host.name != targetHost.name else {
            throw MigrationError.refused("\(request.vm) already runs on \(targetHost.name)")
        }
        if let state = VMInfo.State(rawValue: location.vm.state), state == .incoming || state == .migrating {
            throw MigrationError.refused("\(request.vm) is in the middle of another migration; run coord recover")
        }
        // Every pre-check, before anything is touched.
        guard let sourceInventory = reports.first(where: { $0.name == location.host.name })?.inventory,
              let targetReport = reports.first(where: { $0.name == targetHost.name })
        else { throw MigrationError.refused("\(location.host.name) or \(targetHost.name) vanished from the survey") }
        let maintenance = Set(try await journal.maintenance().keys)
        let checks = await PrecheckRunner(config: config, maintenance: maintenance).run(vm: location.vm, source: sourceInventory, target: targetReport)
        // Disks on storage the target does not share can be copied, by a cold
        // migration only (the guest must not write while they move).
        let failed = checks.checks.filter { !$0.passed }
        let localDisks = (location.vm.disks ?? []).filter { $0.hasPrefix("/") }
        var copyDisks: [String] = []
        if !failed.isEmpty, failed.allSatisfy({ $0.name == "storage" }), !localDisks.isEmpty {
            guard request.mode == .cold || request.mode == .auto else {
                throw MigrationError.refused("\n  " + checks.refusals.joined(separator: "\n  ")
                    + "\n  (a live migration needs shared storage; --mode cold copies local disks to \(targetHost.name))")
            }
            copyDisks = localDisks
        } else if !checks.ok {
            throw MigrationError.refused("\n  " + checks.refusals.joined(separator: "\n  "))
        }
        let dialer = AgentDialer(config: config)
        let source = try await dialer.connect(location.host)
        let target: AgentLink
        do {
            target = try await dialer.connect(targetHost)
        } catch {
            await source.close()
            throw MigrationError.refused("target \(targetHost.name) cannot be reached: \(error)")
        }
        let links = MigrationLinks(source: source, target: target, sourceConfig: location.host, targetConfig: targetHost)
        return try await withClosing(links, close: { await $0.close() }) { links in
            var plan = try await decide(request, links: links)
            if !copyDisks.isEmpty {
                plan.plan = try MigrationPolicy.plan(
                    PolicyInputs(
                        mode: .cold, maxDowntimeMs: request.maxDowntimeMs, bandwidthMiBps: request.bandwidthMiBps, linkMiBps: config.migrationLinkMiBps ?? 1_000,
                        memoryBytes: plan.details.spec.memory.bytes, guestRunning: true, dirtyRateMiBps: nil, hazards: [], allowKnownBugs: false, hostCPUs: 2))
                plan.plan.copyDisks = copyDisks
                plan.plan.reason = "\(copyDisks.count == 1 ? "a disk is" : "disks are") not on storage \(targetHost.name) shares: "
                    + "the guest is paused, \(copyDisks.joined(separator: ", ")) copied over SSH and checked by SHA-256, then its state follows"
            }
            let record = MigrationRecord(
                id: UUID().uuidString.lowercased(), vm: request.vm, source: links.sourceConfig.name, target: links.targetConfig.name,
                mode: plan.plan.kind.rawValue, reason: plan.plan.reason, startedAt: Date(), finishedAt: nil, lastStep: .planned,
                outcome: nil, error: nil, figures: MigrationFigures(dirtyRatePagesPerSecond: plan.dirtyRateMiBps.map { $0 * 256 }))
            do {
                try await journal.begin(record, owner: .current())
            } catch let locked as VMLockedError {
                throw MigrationError.refused("\(locked)")
            } catch let stale as VMNeedsRecoveryError {
                throw MigrationError.refused("\(stale)")
            }
            emit(.plan(plan.plan))
            let run = MigrationRun(record: record, plan: plan.plan, details: plan.details, links: links, journal: journal, abort: abort, emit: emit, request: request)
            return try await run.execute()
        }
    }

    private struct Decision {
        var plan: MigrationPlan
        var details: VMDetails
        var dirtyRateMiBps: Double?
    }

    /// Reads the VM and both hosts, measures the dirty rate when auto must
    /// choose, and picks the plan.
    private func decide(_ request: MigrationRequest, links: MigrationLinks) async throws -> Decision {
        let details = try await links.source.client.call(AgentMethods.VMShow.self, VMRef(name: request.vm), timeout: 15)
        guard details.info.pid != nil else {
            throw MigrationError.refused("\(request.vm) is not running on \(links.source.host); moving a stopped VM is not supported yet (start it, or delete it with --keep-disks and create it on the target)")
        }
        let sourceInventory = try await links.source.client.call(AgentMethods.Inventory.self, Empty(), timeout: 15)
        let targetInventory = try await links.target.client.call(AgentMethods.Inventory.self, Empty(), timeout: 15)
        let hazards = KnownQEMUBugs.hazards(
            memoryBytes: details.spec.memory.bytes,
            hosts: [sourceInventory, targetInventory].map { ($0.accelerator.kind, $0.qemu?.version) })
        let running = details.qemuStatus == "running"
        var dirty: Double?
        if request.mode == .auto && running && hazards.isEmpty {
            emit(.phase("measuring how fast \(request.vm) dirties its memory"))
            dirty = try? await links.source.client.call(
                AgentMethods.MigrationMeasureDirtyRate.self, DirtyRateParams(name: request.vm, seconds: 1), timeout: 30
            ).mibPerSecond
        }
        let input = PolicyInputs(
            mode: request.mode, maxDowntimeMs: request.maxDowntimeMs, bandwidthMiBps: request.bandwidthMiBps,
            linkMiBps: config.migrationLinkMiBps ?? 1_000, memoryBytes: details.spec.memory.bytes, guestRunning: running,
            dirtyRateMiBps: dirty, hazards: hazards, allowKnownBugs: request.allowKnownBugs,
            hostCPUs: min(sourceInventory.cpu.count, targetInventory.cpu.count))
        do {
            return Decision(plan: try MigrationPolicy.plan(input), details: details, dirtyRateMiBps: dirty)
        } catch let error as MigrationPolicyError {
            throw MigrationError.refused(error.description)
        }
    }
}

/// The two agent connections a migration holds for its whole length.
struct MigrationLinks: Sendable {
    let source: AgentLink
    let target: AgentLink
    let sourceConfig: CoordConfig.Host
    let targetConfig: CoordConfig.Host

    func close() async {
        await source.close()
        await target.close()
    }
}

/// Set by Ctrl-C; read by a migration before its handover.
final class AbortSignal: Sendable {
    private let flag = Mutex(false)
    func raise() { flag.withLock { $0 = true } }
    var raised: Bool { flag.withLock { $0 } }
}
