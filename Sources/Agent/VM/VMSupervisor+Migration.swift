import Foundation
import Shared

/// The agent's half of a migration. Every call checks that the VM is held by
/// the migration it names (`MigrationMark`), so a confused or late caller can
/// never destroy or resume a VM that belongs to something else.
extension VMSupervisor {
    // MARK: Target

    func prepareIncoming(_ params: MigrationPrepareParams) async throws -> MigrationPrepareResult {
        let spec = params.spec
        let problems = spec.problems()
        guard problems.isEmpty else {
            throw AgentError(.invalidParams, "invalid VM spec: " + problems.map(\.description).joined(separator: "; "))
        }
        if let existing = records[spec.name] {
            guard existing.migration?.id == params.migrationID, existing.migration?.role == .incoming else {
                throw AgentError(.conflict, "a VM named \(spec.name) already exists on \(config.name)")
            }
            // The same prepare again (a retry): start over.
            try await abortIncoming(MigrationRef(name: spec.name, migrationID: params.migrationID))
        }
        guard busy[spec.name] == nil else { throw AgentError(.conflict, "\(spec.name) is busy \(busy[spec.name]!) on \(config.name)") }
        busy[spec.name] = "preparing an incoming migration"
        defer { busy[spec.name] = nil }
        try await checkFits(spec)
        let address = try listenAddress(params.listenAddress)

        let record = VMRecord(
            spec: spec, createdDisks: Array(Set(params.createdDisks + params.copiedDisks)).sorted(), startedAt: nil, expectedRunning: false,
            migration: MigrationMark(id: params.migrationID, role: .incoming, peer: params.sourceHost, copiedDisks: params.copiedDisks))
        try record.save(paths(spec.name))
        records[spec.name] = record
        do {
            try await launch(spec, mode: .incoming)
            let tuning = params.tuning
            let port = try await withQMP(spec.name, timeout: .seconds(10)) { qmp in
                try await qmp.setMigrationCapabilities(tuning.capabilityMap)
                try await qmp.setMigrationParameters(tuning.parameters)
                try await qmp.migrateIncoming(uri: "tcp:\(address):0")
                let info = try await qmp.queryMigrate()
                guard let port = info.socketAddress?.first(where: { $0.port != nil })?.port else {
                    throw AgentError(.unavailable, "QEMU listens for \(spec.name) but did not say on which port")
                }
                return port
            }
            let pid = QEMUProcess.pid(for: paths(spec.name)) ?? 0
            logger.info("incoming migration prepared", metadata: ["vm": "\(spec.name)", "migration": "\(params.migrationID)", "port": "\(port)"])
            return MigrationPrepareResult(uri: "tcp:\(address):\(port)", pid: pid)
        } catch {
            await destroyIncoming(spec.name)
            throw error as? AgentError ?? AgentError(.unavailable, "preparing \(spec.name) for an incoming migration failed: \(error)")
        }
    }

    /// Resumes the guest once the whole stream is in, and watches the console
    /// for its first heartbeat, which dates the end of the guest's downtime.
    func resumeTarget(_ ref: MigrationRef) async throws -> MigrationResumeResult {
        _ = try held(ref, as: .incoming)
        let consoleStart = consoleSize(ref.name)
        let resumedAt = try await withQMP(ref.name, timeout: .seconds(5)) { qmp -> Date in
            var info = try await qmp.queryMigrate()
            let run = try await qmp.runState()
            if run == .running { return Date() }
            // The source reports completed a moment before this side has
            // loaded the last device state.
            if info.state == .active || info.state == .device || info.state == .setup {
                let loaded: Set<QMP.MigrationStatus> = [.completed, .postcopyActive, .failed]
                if let settled = try? await qmp.waitForMigration(status: loaded, timeout: .seconds(15), pollInterval: .milliseconds(10)) {
                    info = settled
                }
            }
            guard info.state == .completed || info.state == .postcopyActive else {
                throw AgentError(.conflict, "the stream for \(ref.name) has not fully arrived (incoming status \(info.state.rawValue), run state \(run.rawValue))")
            }
            try await qmp.cont()
            return Date()
        }
        let first = await firstHeartbeat(ref.name, after: consoleStart, within: .seconds(5))
        logger.info("migrated guest resumed", metadata: ["vm": "\(ref.name)", "migration": "\(ref.migrationID)"])
        return MigrationResumeResult(vm: try info(ref.name), firstHeartbeatAtEpoch: first?.at.timeIntervalSince1970, firstHeartbeat: first?.seq, resumedAtEpoch: resumedAt.timeIntervalSince1970)
    }

    func commitIncoming(_ ref: MigrationRef) throws -> VMInfo {
        _ = try held(ref, as: .incoming)
        guard QEMUProcess.pid(for: paths(ref.name)) != nil else {
            throw AgentError(.conflict, "\(ref.name) has no QEMU on \(config.name); it cannot be committed here")
        }
        records[ref.name]?.migration = nil
        records[ref.name]?.expectedRunning = true
        records[ref.name]?.startedAt = Date()
        try records[ref.name]?.save(paths(ref.name))
        logger.info("migration committed: VM now runs here", metadata: ["vm": "\(ref.name)", "migration": "\(ref.migrationID)"])
        return try info(ref.name)
    }

    /// Ends the incoming QEMU and forgets the VM. Idempotent.
    func abortIncoming(_ ref: MigrationRef) async throws {
        guard records[ref.name] != nil else { return }
        let record = try held(ref, as: .incoming)
        await destroyIncoming(ref.name)
        for copy in record.migration?.copiedDisks ?? [] where record.spec.disks.contains(where: { $0.location == copy }) {
            _ = await disks.remove(copy)
        }
        logger.info("incoming migration aborted", metadata: ["vm": "\(ref.name)", "migration": "\(ref.migrationID)"])
    }

    // MARK: Source

    func startOutgoing(_ params: MigrationStartParams) async throws -> MigrationProgress {
        let ref = MigrationRef(name: params.name, migrationID: params.migrationID)
        let record = try existing(params.name)
        guard QEMUProcess.pid(for: paths(params.name)) != nil else {
            throw AgentError(.conflict, "\(params.name) is not running on \(config.name); a stopped VM moves without QEMU")
        }
        if let mark = record.migration {
            guard mark.id == params.migrationID, mark.role == .outgoing else {
                throw AgentError(.conflict, "\(params.name) is already held by migration \(mark.id) (\(mark.role.rawValue) with \(mark.peer))")
            }
            let current = try await status(MigrationStatusParams(name: ref.name, migrationID: ref.migrationID))
            // Paused by this migration (disks copied): start it now; else a retried call.
            guard ["none", "cancelled", "failed"].contains(current.status) else { return current }
        } else {
            try await holdForOutgoing(params.name, migrationID: params.migrationID, targetHost: params.targetHost)
        }
        let tuning = params.tuning
        do {
            let progress = try await withQMP(params.name, timeout: .seconds(5)) { qmp in
                try await qmp.setMigrationCapabilities(tuning.capabilityMap)
                try await qmp.setMigrationParameters(tuning.parameters)
                if params.pauseFirst { try await qmp.stop() }
                try await qmp.migrate(uri: params.uri)
                if params.startPostcopy { try await qmp.migrateStartPostcopy() }
                return MigrationProgress(try await qmp.queryMigrate(), runState: try await qmp.runState().rawValue)
            }
            logger.info("outgoing migration started", metadata: ["vm": "\(params.name)", "migration": "\(params.migrationID)", "uri": "\(params.uri)"])
            return progress
        } catch {
            // QEMU refused to start it: the guest runs on as before.
            _ = try? await rollbackOutgoing(ref)
            throw error as? AgentError ?? AgentError(.unavailable, "starting the migration of \(params.name) failed: \(error)")
        }
    }

    func status(_ params: MigrationStatusParams) async throws -> MigrationProgress {
        let record = try existing(params.name)
        guard QEMUProcess.pid(for: paths(params.name)) != nil else {
            var progress = MigrationProgress(status: "none")
            progress.error = "QEMU of \(params.name) is not running on \(config.name)"
            return progress
        }
        let mayContinue = params.continueAtSwitchover && record.migration?.id == params.migrationID && record.migration?.role == .outgoing
        let wait = Duration.milliseconds(min(max(params.waitMs, 0), 5_000))
        return try await withQMP(params.name, timeout: .seconds(5)) { qmp in
            var info = try await qmp.queryMigrate()
            if wait > .zero, !info.state.isFinal, info.state != .preSwitchover, info.state != .none {
                // Woken by QEMU's MIGRATION events, so a change is seen at once.
                let changes: Set<QMP.MigrationStatus> = [.preSwitchover, .postcopyActive, .completed, .failed, .cancelled]
                if let changed = try? await qmp.waitForMigration(status: changes, timeout: wait, pollInterval: wait) {
                    info = changed
                } else {
                    info = try await qmp.queryMigrate()
                }
            }
            if mayContinue, info.state == .preSwitchover {
                try await qmp.migrateContinue(from: .preSwitchover)
                let after: Set<QMP.MigrationStatus> = [.completed, .postcopyActive, .failed, .cancelled]
                if let changed = try? await qmp.waitForMigration(status: after, timeout: .seconds(10), pollInterval: .milliseconds(20)) {
                    info = changed
                } else {
                    info = try await qmp.queryMigrate()
                }
            }
            return MigrationProgress(info, runState: try await qmp.runState().rawValue)
        }
    }

    func measureDirtyRate(_ params: DirtyRateParams) async throws -> DirtyRateResult {
        _ = try existing(params.name)
        let seconds = min(max(params.seconds, 1), 60)
        let info = try await withQMP(params.name, timeout: .seconds(5)) { try await $0.measureDirtyRate(seconds: seconds) }
        return DirtyRateResult(mibPerSecond: Double(info.dirtyRate ?? 0), seconds: seconds)
    }

    func switchover(_ ref: MigrationRef) async throws -> MigrationProgress {
        _ = try held(ref, as: .outgoing)
        try await withQMP(ref.name, timeout: .seconds(5)) { try await $0.migrateContinue(from: .preSwitchover) }
        return try await status(MigrationStatusParams(name: ref.name, migrationID: ref.migrationID))
    }

    func startPostcopy(_ ref: MigrationRef) async throws -> MigrationProgress {
        _ = try held(ref, as: .outgoing)
        try await withQMP(ref.name, timeout: .seconds(5)) { try await $0.migrateStartPostcopy() }
        return try await status(MigrationStatusParams(name: ref.name, migrationID: ref.migrationID))
    }

    /// Cancels the migration if it still runs and resumes the guest if it
    /// was running before. Idempotent; refused once post-copy has begun.
    func rollbackOutgoing(_ ref: MigrationRef) async throws -> VMInfo {
        let record = try existing(ref.name)
        guard let mark = record.migration else { return try info(ref.name) }
        _ = try held(ref, as: .outgoing)
        if QEMUProcess.pid(for: paths(ref.name)) != nil {
            let name = ref.name
            try await withQMP(ref.name, timeout: .seconds(5)) { qmp in
                let state = try await qmp.queryMigrate().state
                if [.postcopyActive, .postcopyPaused, .postcopyRecover].contains(state) {
                    throw AgentError(.conflict, "\(name) is in post-copy: the target already holds part of its RAM, so it cannot go back; finish the migration")
                }
                if !state.isFinal && state != .none {
                    try await qmp.migrateCancel()
                    try await qmp.waitForMigration(status: [.cancelled, .failed, .completed], timeout: .seconds(30))
                }
                guard mark.guestWasRunning == true else { return }
                // QEMU restarts a guest it stopped itself when a migration
                // fails; give it a moment before resuming it ourselves.
                let deadline = ContinuousClock.now + .seconds(2)
                while try await qmp.runState() != .running {
                    if ContinuousClock.now > deadline {
                        try await qmp.cont()
                        break
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
        }
        records[ref.name]?.migration = nil
        try records[ref.name]?.save(paths(ref.name))
        logger.info("outgoing migration rolled back", metadata: ["vm": "\(ref.name)", "migration": "\(ref.migrationID)"])
        return try info(ref.name)
    }

    /// Ends the source QEMU after a verified migration and forgets the VM.
    /// Refused while the guest runs here. Idempotent.
    func releaseOutgoing(_ params: MigrationReleaseParams) async throws {
        let ref = MigrationRef(name: params.name, migrationID: params.migrationID)
        guard records[ref.name] != nil else { return }
        let record = try held(ref, as: .outgoing)
        if let pid = QEMUProcess.pid(for: paths(ref.name)) {
            let run = try await withQMP(ref.name, timeout: .seconds(5)) { try await $0.runState() }
            guard run != .running else {
                throw AgentError(.conflict, "the guest of \(ref.name) still runs on \(config.name); refusing to end it")
            }
            _ = try? await withQMP(ref.name, timeout: .seconds(5)) { try await $0.quit() }
            if !(await QEMUProcess.waitForExit(pid, timeout: .seconds(10))) {
                QEMUProcess.kill(pid)
                guard await QEMUProcess.waitForExit(pid, timeout: .seconds(10)) else {
                    throw AgentError(.unavailable, "source QEMU pid \(pid) of \(ref.name) survived quit and SIGKILL")
                }
            }
        }
        forget(ref.name)
        // The images that now live on the target; only this VM's own path disks.
        for location in params.removeDisks where record.spec.disks.contains(where: { $0.location == location }) && location.hasPrefix("/") {
            _ = await disks.remove(location)
        }
        logger.info("migration released the source", metadata: ["vm": "\(ref.name)", "migration": "\(ref.migrationID)"])
    }

    /// Stops the guest's vCPUs for a cold migration that copies disks; the
    /// VM is held by the migration from here on.
    func pauseForMigration(_ params: MigrationPauseParams) async throws -> MigrationProgress {
        let ref = MigrationRef(name: params.name, migrationID: params.migrationID)
        let record = try existing(params.name)
        guard QEMUProcess.pid(for: paths(params.name)) != nil else {
            throw AgentError(.conflict, "\(params.name) is not running on \(config.name)")
        }
        if record.migration == nil {
            try await holdForOutgoing(params.name, migrationID: params.migrationID, targetHost: params.targetHost)
        }
        _ = try held(ref, as: .outgoing)
        // `stop` drains and flushes the block layer: the image is consistent.
        try await withQMP(params.name, timeout: .seconds(30)) { try await $0.stop() }
        return try await status(MigrationStatusParams(name: ref.name, migrationID: ref.migrationID))
    }

    /// Removes a copied image no VM here uses.
    func removeUnusedCopy(_ location: String) async throws {
        if let user = records.first(where: { $0.value.spec.disks.contains { $0.location == location } }) {
            throw AgentError(.conflict, "\(location) is a disk of \(user.key) on \(config.name); refusing to remove it")
        }
        guard location.hasPrefix("/") else { throw AgentError(.invalidParams, "only copied local images can be removed this way") }
        _ = await disks.remove(location)
    }

    // MARK: Helpers

    /// Marks the VM as held by an outgoing migration, remembering whether
    /// its guest ran, so a rollback knows whether to resume it.
    private func holdForOutgoing(_ name: String, migrationID: String, targetHost: String) async throws {
        try claim(name, for: "starting migration \(migrationID)")
        defer { busy[name] = nil }
        let wasRunning = try await withQMP(name, timeout: .seconds(5)) { try await $0.runState() == .running }
        records[name]?.migration = MigrationMark(id: migrationID, role: .outgoing, peer: targetHost, guestWasRunning: wasRunning)
        try records[name]?.save(paths(name))
    }

    /// The record, if the VM is held by exactly this migration in this role.
    private func held(_ ref: MigrationRef, as role: MigrationMark.Role) throws -> VMRecord {
        let record = try existing(ref.name)
        guard let mark = record.migration, mark.id == ref.migrationID, mark.role == role else {
            let holder = record.migration.map { "migration \($0.id) (\($0.role.rawValue))" } ?? "no migration"
            throw AgentError(.conflict, "\(ref.name) on \(config.name) is held by \(holder), not by \(role.rawValue) migration \(ref.migrationID); refusing")
        }
        return record
    }

    private func destroyIncoming(_ name: String) async {
        if let pid = QEMUProcess.pid(for: paths(name)) {
            QEMUProcess.kill(pid)
            _ = await QEMUProcess.waitForExit(pid, timeout: .seconds(10))
        }
        forget(name)
    }

    private func forget(_ name: String) {
        try? FileManager.default.removeItem(atPath: paths(name).stateDir)
        try? FileManager.default.removeItem(atPath: paths(name).qmpSocket)
        records[name] = nil
    }

    private func listenAddress(_ requested: String?) throws -> String {
        guard let address = requested ?? config.migrationAddress, !address.isEmpty else {
            throw AgentError(.invalidParams, "\(config.name) has no migration address: set migrationAddress in the agent's or the coordinator's config")
        }
        // It goes into a QMP URI: only what an address or a host name holds.
        guard address.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || ".-:".unicodeScalars.contains($0) }) else {
            throw AgentError(.invalidParams, "migration address \(address) is not an IP address or host name")
        }
        return address.contains(":") ? "[\(address)]" : address
    }

    private func consoleSize(_ name: String) -> Int64 {
        let size = (try? FileManager.default.attributesOfItem(atPath: paths(name).console)[.size] as? NSNumber)?.int64Value
        return size ?? 0
    }

    /// Polls the console from `offset` for the first heartbeat line.
    private func firstHeartbeat(_ name: String, after offset: Int64, within limit: Duration) async -> (seq: UInt64, at: Date)? {
        let deadline = ContinuousClock.now + limit
        var text = ""
        var next = offset
        while ContinuousClock.now < deadline {
            if let chunk = try? console(VMConsoleParams(name: name, offset: next, maxBytes: 1 << 20)), !chunk.text.isEmpty {
                text += chunk.text
                next = chunk.nextOffset
                var status = GuestStatus()
                GuestConsole.read(text, into: &status)
                if let seq = status.firstHeartbeat { return (seq, Date()) }
            }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return nil
    }
}

extension MigrationTuning {
    var capabilityMap: [QMP.MigrationCapability: Bool] {
        Dictionary(capabilities.map { ($0.capability, $0.state) }, uniquingKeysWith: { _, last in last })
    }
}
