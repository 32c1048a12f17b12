import Foundation
import GRDB

/// The per-VM migration lock: at most one unfinished migration per VM, held
/// by one coord process. The lock is a row keyed by VM name, taken and
/// released in the same transactions that start and finish the migration.
extension SQLiteJournal {
    /// Inserts the record (and its first step, `record.lastStep`) and takes
    /// the VM's lock, atomically.
    ///
    /// A lock held by a live owner, or by one on another machine (whose
    /// liveness cannot be judged from here), throws `VMLockedError`. A lock
    /// whose owner is dead is stale: if its migration never got past
    /// `checked` (no host touched), that migration is closed as failed and the
    /// lock taken over; otherwise `VMNeedsRecoveryError` is thrown, because
    /// the VM may be half-migrated and `coord recover` must deal with it first.
    func begin(_ record: MigrationRecord, owner: LockOwner) throws {
        try write("begin migration \(record.id) of \(record.vm)") { db in
            if try Self.fetchRecord(db, record.id) != nil { throw JournalError.duplicateMigration(record.id) }
            if let held = try Self.lock(db, vm: record.vm) {
                try Self.breakStaleLock(db, held, vm: record.vm, for: record.id)
            }
            try db.execute(sql: MigrationRecord.insertSQL, arguments: record.insertArguments)
            try Self.appendStep(db, record.id, record.lastStep, detail: record.reason, at: record.startedAt)
            try Self.insertLock(db, vm: record.vm, migrationID: record.id, owner: owner)
        }
    }

    /// For `coord recover`: takes the lock of an unfinished migration whose
    /// owner is dead (or is `owner` itself). Throws `VMLockedError` when its
    /// owner is alive or on another machine, or when another migration holds
    /// the VM.
    func adopt(_ id: String, owner: LockOwner) throws {
        try write("adopt migration \(id)") { db in
            let record = try Self.requireUnfinished(db, id)
            if let held = try Self.lock(db, vm: record.vm) {
                guard held.migrationID == id else {
                    throw VMLockedError(vm: record.vm, migrationID: held.migrationID, owner: held.owner)
                }
                if !held.owner.isSameProcess(as: owner) {
                    guard case .dead = held.owner.liveness() else {
                        throw VMLockedError(vm: record.vm, migrationID: id, owner: held.owner)
                    }
                }
                try db.execute(sql: "DELETE FROM vmLock WHERE vm = ?", arguments: [record.vm])
            }
            try Self.insertLock(db, vm: record.vm, migrationID: id, owner: owner)
        }
    }

    /// Who holds `vm`'s migration lock, if anyone.
    func lockHolder(vm: String) throws -> (migrationID: String, owner: LockOwner)? {
        try read("read the lock of \(vm)") { db in
            try Self.lock(db, vm: vm).map { ($0.migrationID, $0.owner) }
        }
    }

    // MARK: Inside a transaction

    struct HeldLock {
        var migrationID: String
        var owner: LockOwner
    }

    static func lock(_ db: Database, vm: String) throws -> HeldLock? {
        try Row.fetchOne(db, sql: "SELECT * FROM vmLock WHERE vm = ?", arguments: [vm]).map {
            HeldLock(migrationID: $0["migrationID"], owner: LockOwner(lockRow: $0))
        }
    }

    private static func insertLock(_ db: Database, vm: String, migrationID: String, owner: LockOwner) throws {
        try db.execute(
            sql: """
                INSERT INTO vmLock (vm, migrationID, pid, hostname, ownerStartedAt, bootID, startTicks, takenAt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: StatementArguments([vm, migrationID] + owner.lockArguments + [JournalTime.seconds(Date())]))
    }

    /// Removes `held` if its owner is dead and its migration touched no host
    /// (closing that migration as failed); throws otherwise.
    private static func breakStaleLock(_ db: Database, _ held: HeldLock, vm: String, for newID: String) throws {
        guard case .dead(let why) = held.owner.liveness() else {
            throw VMLockedError(vm: vm, migrationID: held.migrationID, owner: held.owner)
        }
        if let stale = try fetchRecord(db, held.migrationID), stale.outcome == nil {
            guard stale.lastStep.touchesNoHost else {
                throw VMNeedsRecoveryError(
                    vm: vm, migrationID: stale.id, lastStep: stale.lastStep, owner: held.owner, why: why)
            }
            let error = "abandoned: \(held.owner.summary) died (\(why)) before touching any host; "
                + "migration \(newID) took over \(vm)"
            try close(db, stale.id, outcome: .failed, error: error, at: Date())
        }
        try db.execute(sql: "DELETE FROM vmLock WHERE vm = ?", arguments: [vm])
    }
}
