import Foundation
import Shared

/// Settles a migration its coordinator left unfinished, from what the two
/// agents say now (the journal says which migration; the hosts say where it
/// got to). The rule is the executor's: until the guest is verified on the
/// target, the source is the VM; after that, the target is.
struct MigrationSettler: Sendable {
    let config: CoordConfig
    let journal: MigrationJournal
    let emit: @Sendable (String) -> Void

    struct Result: Sendable, Codable {
        var id: String
        var vm: String
        var outcome: MigrationOutcome?
        var runsOn: String?
        var detail: String
    }

    func settle(_ record: MigrationRecord) async -> Result {
        let ref = MigrationRef(name: record.vm, migrationID: record.id)
        do {
            try await journal.adopt(record.id, owner: .current())
        } catch {
            return Result(id: record.id, vm: record.vm, outcome: nil, runsOn: nil, detail: "left alone: \(error)")
        }
        do {
            let dialer = AgentDialer(config: config)
            let sourceHost = try config.host(named: record.source)
            let targetHost = try config.host(named: record.target)
            return try await dialer.with(sourceHost) { source in
                try await dialer.with(targetHost) { target in
                    try await settle(record, ref: ref, source: source, target: target)
                }
            }
        } catch {
            return Result(id: record.id, vm: record.vm, outcome: nil, runsOn: nil, detail: "cannot settle yet: \(error)")
        }
    }

    private func settle(_ record: MigrationRecord, ref: MigrationRef, source: AgentClient, target: AgentClient) async throws -> Result {
        let onSource = try await optional { try await source.call(AgentMethods.VMShow.self, VMRef(name: record.vm), timeout: 15) }
        let onTarget = try await optional { try await target.call(AgentMethods.VMShow.self, VMRef(name: record.vm), timeout: 15) }
        var progress = onSource?.info.pid != nil
            ? try await source.call(AgentMethods.MigrationStatus.self, MigrationStatusParams(name: record.vm, migrationID: record.id), timeout: 30)
            : nil
        // Post-copy cannot go back: let it finish.
        while progress?.status == "postcopy-active" {
            emit("\(record.vm): post-copy still running; waiting for it to finish")
            try await Task.sleep(for: .seconds(1))
            progress = try await source.call(AgentMethods.MigrationStatus.self, MigrationStatusParams(name: record.vm, migrationID: record.id, waitMs: 1000), timeout: 30)
        }
        let sourceStoppedForGood = progress?.status == "completed" && progress?.runState != "running"
        let targetHeld = onTarget?.info.state == .incoming

        // The source is gone: it was released after verification.
        if onSource == nil {
            guard onTarget?.info.pid != nil else {
                return try await finish(record, .failed, runsOn: nil, "the VM is running on neither \(record.source) nor \(record.target)")
            }
            if targetHeld { _ = try await target.call(AgentMethods.MigrationCommit.self, ref, timeout: 30) }
            return try await finish(record, .succeeded, runsOn: record.target, "the source was already released; committed on \(record.target)")
        }

        if sourceStoppedForGood, let onTarget, onTarget.info.pid != nil, targetHeld {
            if onTarget.qemuStatus != "running" {
                emit("\(record.vm): the stream had arrived; resuming it on \(record.target)")
                try await journal.step(record.id, .targetResumed, detail: "recover: cont on \(record.target)")
                _ = try await target.call(AgentMethods.MigrationResumeTarget.self, ref, timeout: 30)
            }
            let last = onSource?.guest.heartbeats ?? 0 > 0 ? onSource?.guest.lastHeartbeat : nil
            let verdict = try await GuestVerification.verify(vm: record.vm, on: target, sourceLast: last, timeout: .seconds(30))
            if verdict.alive {
                try await journal.step(record.id, .verified, detail: "recover: " + verdict.detail)
                try await journal.step(record.id, .sourceReleased, detail: "recover: quit QEMU on \(record.source)")
                _ = try await source.call(AgentMethods.MigrationRelease.self, MigrationReleaseParams(name: record.vm, migrationID: record.id), timeout: 60)
                _ = try await target.call(AgentMethods.MigrationCommit.self, ref, timeout: 30)
                return try await finish(record, .succeeded, runsOn: record.target, "finished forward: \(verdict.detail)")
            }
            emit("\(record.vm): the guest is not alive on \(record.target) (\(verdict.detail)); going back to \(record.source)")
        }

        // Everything else goes back to the source.
        try await journal.step(record.id, .rollingBack, detail: "recover")
        if onTarget != nil { _ = try await target.call(AgentMethods.MigrationAbortIncoming.self, ref, timeout: 60) }
        if onSource?.info.state == .migrating || onSource?.info.state == .running {
            _ = try await source.call(AgentMethods.MigrationRollback.self, ref, timeout: 60)
        }
        let after = try await source.call(AgentMethods.VMShow.self, VMRef(name: record.vm), timeout: 15)
        guard after.info.pid != nil else {
            // Never report a guest running that is not: its source QEMU died.
            try await journal.step(record.id, .failed, detail: "recover: the target was removed, but the source QEMU on \(record.source) is gone (\(after.info.state.rawValue))")
            return try await finish(record, .failed, runsOn: nil, "the VM runs nowhere: its QEMU on \(record.source) is gone (\(after.info.state.rawValue)); start it there with coord vm start")
        }
        try await journal.step(record.id, .rolledBack, detail: "recover: the guest runs on \(record.source) (\(after.qemuStatus ?? after.info.state.rawValue))")
        return try await finish(record, .rolledBack, runsOn: record.source, "rolled back: the guest runs on \(record.source)")
    }

    private func finish(_ record: MigrationRecord, _ outcome: MigrationOutcome, runsOn: String?, _ detail: String) async throws -> Result {
        try await journal.finish(record.id, outcome: outcome, error: outcome == .succeeded ? nil : (record.error ?? "interrupted at step \(record.lastStep.rawValue)") + " [settled by coord recover: \(detail)]")
        return Result(id: record.id, vm: record.vm, outcome: outcome, runsOn: runsOn, detail: detail)
    }

    /// The call's result, or nil when the agent says the VM is not there.
    private func optional<T: Sendable>(_ body: () async throws -> T) async throws -> T? {
        do {
            return try await body()
        } catch let error as AgentError where error.code == .notFound {
            return nil
        }
    }
}
