/// Typed migration and dirty-rate commands, and waiting for a migration status.
extension QMPClient {
    public func queryMigrate() async throws -> QMP.MigrationInfo {
        try await execute("query-migrate", returning: QMP.MigrationInfo.self)
    }

    /// Source side: starts streaming to `uri`, e.g. `tcp:10.0.0.2:4444`.
    /// Returns once QEMU accepted the request; progress is in `query-migrate`.
    public func migrate(uri: String, resume: Bool? = nil) async throws {
        _ = try await execute("migrate", arguments: MigrateArguments(uri: uri, resume: resume), returning: QMP.Empty.self)
    }

    /// Target side (QEMU started with `-incoming defer`): starts listening on `uri`.
    public func migrateIncoming(uri: String) async throws {
        _ = try await execute("migrate-incoming", arguments: URIArgument(uri: uri), returning: QMP.Empty.self)
    }

    public func setMigrationCapabilities(_ capabilities: [QMP.MigrationCapability: Bool]) async throws {
        let states = capabilities.sorted { $0.key.rawValue < $1.key.rawValue }.map { QMP.MigrationCapabilityState($0.key, $0.value) }
        _ = try await execute("migrate-set-capabilities", arguments: CapabilitiesArgument(capabilities: states), returning: QMP.Empty.self)
    }

    /// Every capability this QEMU knows and whether it is on; capabilities
    /// newer than Ferry's list are left out.
    public func queryMigrationCapabilities() async throws -> [QMP.MigrationCapability: Bool] {
        let states = try await execute("query-migrate-capabilities", returning: [QMP.MigrationCapabilityState].self)
        var result: [QMP.MigrationCapability: Bool] = [:]
        for entry in states where entry.capability != .unknown {
            result[entry.capability] = entry.state
        }
        return result
    }

    /// Changes only the parameters that are set.
    public func setMigrationParameters(_ parameters: QMP.MigrationParameters) async throws {
        _ = try await execute("migrate-set-parameters", arguments: parameters, returning: QMP.Empty.self)
    }

    public func queryMigrationParameters() async throws -> QMP.MigrationParameters {
        try await execute("query-migrate-parameters", returning: QMP.MigrationParameters.self)
    }

    public func migrateCancel() async throws {
        _ = try await execute("migrate_cancel", returning: QMP.Empty.self)
    }

    /// Lets a migration paused by pause-before-switchover go on to switch over.
    public func migrateContinue(from state: QMP.MigrationStatus = .preSwitchover) async throws {
        _ = try await execute("migrate-continue", arguments: StateArgument(state: state), returning: QMP.Empty.self)
    }

    /// Switches a running pre-copy migration to post-copy (needs postcopy-ram on both sides).
    public func migrateStartPostcopy() async throws {
        _ = try await execute("migrate-start-postcopy", returning: QMP.Empty.self)
    }

    /// Starts a background measurement of how fast the guest dirties memory.
    public func calcDirtyRate(seconds: Int, samplePages: Int? = nil) async throws {
        _ = try await execute("calc-dirty-rate", arguments: CalcDirtyRateArguments(calcTime: seconds, samplePages: samplePages), returning: QMP.Empty.self)
    }

    public func queryDirtyRate() async throws -> QMP.DirtyRateInfo {
        try await execute("query-dirty-rate", returning: QMP.DirtyRateInfo.self)
    }

    /// `calc-dirty-rate`, then polls `query-dirty-rate` until it is measured.
    public func measureDirtyRate(seconds: Int, samplePages: Int? = nil) async throws -> QMP.DirtyRateInfo {
        try await calcDirtyRate(seconds: seconds, samplePages: samplePages)
        let deadline = ContinuousClock.now + .seconds(seconds + 10)
        var info = try await queryDirtyRate()
        while info.status != .measured {
            guard ContinuousClock.now < deadline else {
                throw QMP.ClientError.waitTimedOut(what: "dirty-rate measurement", seconds: Double(seconds + 10), last: info.status.rawValue)
            }
            try await Task.sleep(for: .milliseconds(200))
            info = try await queryDirtyRate()
        }
        return info
    }

    /// Waits until the migration's status is one of `status`, and returns
    /// `query-migrate` from that moment. Wakes on MIGRATION events (which
    /// need the `events` capability) and also polls every `pollInterval`, so
    /// it works without them; a status seen only in an event (a short-lived
    /// one such as `device`) counts too. Throws `migrationFailed` if the
    /// migration ends failed or cancelled without that being asked for.
    @discardableResult
    public func waitForMigration(
        status wanted: Set<QMP.MigrationStatus>,
        timeout: Duration,
        pollInterval: Duration = .milliseconds(250)
    ) async throws -> QMP.MigrationInfo {
        let deadline = ContinuousClock.now + timeout
        let start = migrationEventMark()
        var mark = start
        while true {
            let info = try await queryMigrate()
            let seen = migrationStatuses(since: start)
            if wanted.contains(info.state) { return info }
            if let reached = seen.first(where: wanted.contains) {
                // An event can run ahead of the reply to query-migrate: ask
                // again, so a terminal state comes back with its final figures.
                var again = try await queryMigrate()
                if !wanted.contains(again.state) { again.status = reached }
                return again
            }
            if let ended = ([info.state] + seen).first(where: { $0 == .failed || $0 == .cancelled }) {
                throw QMP.ClientError.migrationFailed(status: ended, detail: info.errorDesc)
            }
            let left = deadline - ContinuousClock.now
            guard left > .zero else {
                throw QMP.ClientError.waitTimedOut(
                    what: "migration status \(wanted.map(\.rawValue).sorted().joined(separator: "|"))",
                    seconds: timeout.qmpSeconds, last: info.state.rawValue)
            }
            await migrationEvent(after: mark, within: min(pollInterval, left))
            mark = migrationEventMark()
        }
    }
}

private struct URIArgument: Encodable, Sendable {
    var uri: String
}

private struct MigrateArguments: Encodable, Sendable {
    var uri: String
    var resume: Bool?
}

private struct CapabilitiesArgument: Encodable, Sendable {
    var capabilities: [QMP.MigrationCapabilityState]
}

private struct StateArgument: Encodable, Sendable {
    var state: QMP.MigrationStatus
}

private struct CalcDirtyRateArguments: Encodable, Sendable {
    var calcTime: Int
    var samplePages: Int?

    enum CodingKeys: String, CodingKey {
        case calcTime = "calc-time"
        case samplePages = "sample-pages"
    }
}
