import Foundation

/// The coordinator state in etcd, shared by a coordinator cluster.
///
/// Keys, under the configured prefix:
/// - `migrations/<id>`: a `MigrationRecord` (JSON)
/// - `steps/<id>/<seq>`: its `JournalStep`s, seq zero-padded so keys sort
/// - `locks/<vm>`: the VM's migration lock, attached to the leader's lease,
///   so a dead leader's locks vanish with it and its unfinished migrations
///   become orphans for the next leader to settle
/// - `maintenance/<host>`: a `MaintenanceEntry`
///
/// Writes made while leading are transactions that also compare the leader
/// key's create revision with this leader's epoch: a coordinator that has
/// lost leadership cannot write a single step, whatever it believes.
struct EtcdJournal: MigrationJournal {
    let client: EtcdClient
    let keys: ClusterKeys
    /// Set on the leader: its lease (held by locks) and its epoch (checked
    /// on every write). A CLI has none, and may not run migrations.
    let leadership: Leadership?

    var isLeaderTerm: Bool { leadership != nil }

    var location: String { "etcd \(client.endpoints.joined(separator: ",")) \(keys.prefix)" }

    // MARK: Migrations

    func begin(_ record: MigrationRecord, owner: LockOwner) async throws {
        let leadership = try requireLeadership("begin a migration of \(record.vm)")
        let newLock = EtcdLock(migrationID: record.id, owner: owner, coordinator: leadership.name, epoch: leadership.epoch)
        let step = JournalStep(migrationID: record.id, seq: 1, step: record.lastStep, detail: record.reason, at: record.startedAt)
        let txn = EtcdTxn(
            compare: guarded([.createRevision(keys.migration(record.id), equals: 0), .createRevision(keys.lock(record.vm), equals: 0)]),
            success: [
                .put(keys.migration(record.id), try ClusterJSON.encode(record), lease: nil),
                .put(keys.step(record.id, 1), try ClusterJSON.encode(step), lease: nil),
                .put(keys.lock(record.vm), try ClusterJSON.encode(newLock), lease: leadership.lease),
            ],
            failure: [])
        try await withEtcdRetry { retry in
            // An attempt that timed out may have been applied: then the lock is ours.
            if retry, let held = try await lock(vm: record.vm), held.migrationID == record.id { return }
            if try await client.txn(txn).succeeded { return }
            try await checkLeadership()
            if try await client.get(keys.migration(record.id)) != nil { throw JournalError.duplicateMigration(record.id) }
            if let held = try await lock(vm: record.vm) {
                throw VMLockedError(vm: record.vm, migrationID: held.migrationID, owner: held.owner)
            }
            throw ClusterStateError.conflict("begin migration \(record.id) of \(record.vm)")
        }
    }

    func adopt(_ id: String, owner: LockOwner) async throws {
        let leadership = try requireLeadership("adopt migration \(id)")
        guard let record = try await record(id), record.outcome == nil else {
            throw JournalError.unknownMigration(id)
        }
        if let held = try await lock(vm: record.vm) {
            guard held.migrationID == id, held.epoch == leadership.epoch else {
                throw VMLockedError(vm: record.vm, migrationID: held.migrationID, owner: held.owner)
            }
            return
        }
        let newLock = EtcdLock(migrationID: id, owner: owner, coordinator: leadership.name, epoch: leadership.epoch)
        let txn = EtcdTxn(
            compare: guarded([.createRevision(keys.lock(record.vm), equals: 0)]),
            success: [.put(keys.lock(record.vm), try ClusterJSON.encode(newLock), lease: leadership.lease)], failure: [])
        if try await client.txn(txn).succeeded { return }
        try await checkLeadership()
        throw ClusterStateError.conflict("adopt migration \(id): its VM's lock was taken meanwhile")
    }

    func lockHolder(vm: String) async throws -> (migrationID: String, owner: LockOwner)? {
        try await lock(vm: vm).map { ($0.migrationID, $0.owner) }
    }

    func step(_ id: String, _ step: MigrationStep, detail: String) async throws {
        try await change(id, "journal step \(step.rawValue) of \(id)") { record, seq in
            record.lastStep = step
            return [.put(keys.step(id, seq), try ClusterJSON.encode(JournalStep(migrationID: id, seq: seq, step: step, detail: detail, at: Date())), lease: nil)]
        }
    }

    func update(_ id: String, figures: MigrationFigures) async throws {
        try await change(id, "record the figures of \(id)", newStep: false) { record, _ in
            record.figures = record.figures.merged(with: figures)
            return []
        }
    }

    func finish(_ id: String, outcome: MigrationOutcome, error: String?) async throws {
        let vm = try await change(
            id, "finish migration \(id)", newStep: false, applied: { $0.outcome == outcome && $0.error == error }
        ) { record, _ in
            record.outcome = outcome
            record.error = error
            record.finishedAt = Date()
            return []
        }
        // The lock goes with the migration, unless another migration holds it.
        try await withEtcdRetry { _ in
            if let held = try await lock(vm: vm), held.migrationID == id {
                _ = try await client.txn(EtcdTxn(compare: guarded([]), success: [.delete(keys.lock(vm))], failure: []))
            }
        }
    }

    /// Reads the unfinished record, lets `body` change it, and writes it back
    /// (with `body`'s extra operations) only if nobody changed it meanwhile
    /// and this coordinator still leads. Returns the migration's VM.
    ///
    /// Transient etcd errors (an election after a member died) are retried.
    /// A retry first checks whether the timed-out attempt was applied after
    /// all: its step is there, or `applied` says the record already holds
    /// the change, so nothing is journaled twice.
    @discardableResult
    private func change(
        _ id: String, _ doing: String, newStep: Bool = true, applied: @escaping (MigrationRecord) -> Bool = { _ in false },
        _ body: @escaping (inout MigrationRecord, Int) throws -> [EtcdOp]
    ) async throws -> String {
        _ = try requireLeadership(doing)
        var attempted: (key: String, value: Data)?
        return try await withEtcdRetry { retry in
            guard let kv = try await client.get(keys.migration(id)) else { throw JournalError.unknownMigration(id) }
            var record = try ClusterJSON.decode(MigrationRecord.self, kv.value, what: kv.key)
            if retry {
                if let attempted, try await client.get(attempted.key)?.value == attempted.value { return record.vm }
                if applied(record) { return record.vm }
            }
            if let outcome = record.outcome { throw JournalError.alreadyFinished(id: id, outcome: outcome) }
            let seq = newStep ? try await client.range(prefix: keys.steps(id)).kvs.count + 1 : 0
            let extra = try body(&record, seq)
            attempted = extra.lazy.compactMap { op -> (key: String, value: Data)? in
                if case .put(let key, let value, _) = op { return (key, value) }
                return nil
            }.first
            let txn = EtcdTxn(
                compare: guarded([.modRevision(keys.migration(id), equals: kv.modRevision)]),
                success: [.put(keys.migration(id), try ClusterJSON.encode(record), lease: nil)] + extra, failure: [])
            guard try await client.txn(txn).succeeded else {
                try await checkLeadership()
                throw ClusterStateError.conflict(doing)
            }
            return record.vm
        }
    }

    // MARK: Reading

    func record(_ id: String) async throws -> MigrationRecord? {
        try await client.get(keys.migration(id)).map { try ClusterJSON.decode(MigrationRecord.self, $0.value, what: $0.key) }
    }

    private func allRecords() async throws -> [MigrationRecord] {
        try await client.range(prefix: keys.migrations).kvs.map { try ClusterJSON.decode(MigrationRecord.self, $0.value, what: $0.key) }
    }

    func unfinished() async throws -> [MigrationRecord] {
        try await allRecords().filter { $0.outcome == nil }.sorted { $0.startedAt < $1.startedAt }
    }

    /// Unfinished migrations whose lock is gone: the lease of the leader that
    /// ran them has lapsed (it died, or lost etcd). A lock outlives its
    /// leader's lease only until etcd expires it, and no one can lead before
    /// that, so a lock present means a live leader runs the migration.
    func orphaned() async throws -> [MigrationRecord] {
        var orphans: [MigrationRecord] = []
        for record in try await unfinished() where try await lock(vm: record.vm)?.migrationID != record.id {
            orphans.append(record)
        }
        return orphans
    }

    func history(vm: String?, limit: Int) async throws -> [MigrationRecord] {
        Array(try await allRecords().filter { vm == nil || $0.vm == vm }.sorted { $0.startedAt > $1.startedAt }.prefix(limit))
    }

    func steps(_ id: String) async throws -> [JournalStep] {
        try await client.range(prefix: keys.steps(id)).kvs.map { try ClusterJSON.decode(JournalStep.self, $0.value, what: $0.key) }
            .sorted { $0.seq < $1.seq }
    }

    func resolveID(_ prefix: String) async throws -> String {
        let ids = try await allRecords().sorted { $0.startedAt < $1.startedAt }.map(\.id)
            .filter { $0.uppercased().hasPrefix(prefix.uppercased()) }
        if let exact = ids.first(where: { $0.caseInsensitiveCompare(prefix) == .orderedSame }) { return exact }
        guard !prefix.isEmpty, let only = ids.first else { throw JournalError.unknownMigration(prefix) }
        guard ids.count == 1 else { throw JournalError.ambiguousID(prefix: prefix, matches: Array(ids.prefix(6))) }
        return only
    }

    func lastMoves() async throws -> [String: Date] {
        var moves: [String: Date] = [:]
        for record in try await allRecords() where record.outcome == .succeeded {
            guard let at = record.finishedAt else { continue }
            moves[record.vm] = max(moves[record.vm] ?? at, at)
        }
        return moves
    }

    // MARK: Maintenance

    func setMaintenance(_ host: String, on: Bool, reason: String?) async throws -> Bool {
        let current = try await maintenance(host: host)
        if on {
            if let current, current.reason == reason || reason == nil { return false }
            let entry = MaintenanceEntry(since: current?.since ?? Date(), reason: reason ?? current?.reason)
            _ = try await client.put(keys.maintenance(host), try ClusterJSON.encode(entry))
            return current == nil
        }
        guard current != nil else { return false }
        _ = try await client.delete(keys.maintenance(host))
        return true
    }

    func maintenance() async throws -> [String: MaintenanceEntry] {
        var entries: [String: MaintenanceEntry] = [:]
        for kv in try await client.range(prefix: keys.maintenancePrefix).kvs {
            entries[String(kv.key.dropFirst(keys.maintenancePrefix.count))] = try ClusterJSON.decode(MaintenanceEntry.self, kv.value, what: kv.key)
        }
        return entries
    }

    func maintenance(host: String) async throws -> MaintenanceEntry? {
        try await client.get(keys.maintenance(host)).map { try ClusterJSON.decode(MaintenanceEntry.self, $0.value, what: $0.key) }
    }

    // MARK: Leadership

    private func lock(vm: String) async throws -> EtcdLock? {
        try await client.get(keys.lock(vm)).map { try ClusterJSON.decode(EtcdLock.self, $0.value, what: $0.key) }
    }

    private func requireLeadership(_ doing: String) throws -> Leadership {
        guard let leadership else { throw ClusterStateError.notLeader(doing: doing) }
        return leadership
    }

    /// `compare` plus, on the leader, "the leader key is still mine".
    private func guarded(_ compare: [EtcdCompare]) -> [EtcdCompare] {
        guard let leadership else { return compare }
        return compare + [.createRevision(keys.leader, equals: Int64(leadership.epoch))]
    }

    /// After a failed transaction: was it because leadership is gone?
    private func checkLeadership() async throws {
        guard let leadership else { return }
        let current = try await client.get(keys.leader)
        if current?.createRevision != Int64(leadership.epoch) {
            throw ClusterStateError.leadershipLost(epoch: leadership.epoch, now: current.flatMap { try? ClusterJSON.decode(LeaderRecord.self, $0.value, what: $0.key) })
        }
    }
}

/// A VM's migration lock as stored in etcd.
struct EtcdLock: Codable, Sendable {
    var migrationID: String
    var owner: LockOwner
    var coordinator: String
    var epoch: UInt64
}
