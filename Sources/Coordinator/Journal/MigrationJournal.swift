import Foundation

/// The coordinator's state, behind one interface: every migration and its
/// steps, the per-VM migration locks, the hosts in maintenance, and (through
/// the migrations) the cool-downs.
///
/// Two stores implement it: `SQLiteJournal`, one file for one coordinator
/// (the default), and `EtcdJournal`, shared by a coordinator cluster. The
/// executor journals each step before taking it, whichever store it is.
protocol MigrationJournal: Sendable {
    /// Where the state lives, for people: a file path or etcd's endpoints.
    var location: String { get }
    /// True for a cluster leader's journal. Losing the lead (the work is
    /// cancelled, an agent answers `fenced`, etcd refuses a write) then
    /// means stop at once, never roll back: the next leader settles the
    /// migration from the journal, and two coordinators must never act on
    /// one VM.
    var isLeaderTerm: Bool { get }

    /// Inserts `record` (with its first step) and takes its VM's lock,
    /// atomically. Throws `VMLockedError` or `VMNeedsRecoveryError`.
    func begin(_ record: MigrationRecord, owner: LockOwner) async throws
    /// Takes the lock of an unfinished migration whose owner is gone.
    func adopt(_ id: String, owner: LockOwner) async throws
    func lockHolder(vm: String) async throws -> (migrationID: String, owner: LockOwner)?

    func step(_ id: String, _ step: MigrationStep, detail: String) async throws
    /// Merges `figures` into the migration's figures.
    func update(_ id: String, figures: MigrationFigures) async throws
    /// Closes the migration and releases its VM's lock.
    func finish(_ id: String, outcome: MigrationOutcome, error: String?) async throws

    func record(_ id: String) async throws -> MigrationRecord?
    func unfinished() async throws -> [MigrationRecord]
    /// Unfinished migrations whose coordinator is gone: its lock's owner is
    /// dead (SQLite), or its lease has lapsed (etcd). They are settled before
    /// new work starts.
    func orphaned() async throws -> [MigrationRecord]
    /// Newest first.
    func history(vm: String?, limit: Int) async throws -> [MigrationRecord]
    func steps(_ id: String) async throws -> [JournalStep]
    /// The full id of the one migration whose id starts with `prefix`.
    func resolveID(_ prefix: String) async throws -> String
    /// When each VM last finished a migration successfully (its cool-down).
    func lastMoves() async throws -> [String: Date]

    /// Returns whether anything changed.
    func setMaintenance(_ host: String, on: Bool, reason: String?) async throws -> Bool
    func maintenance() async throws -> [String: MaintenanceEntry]
    func maintenance(host: String) async throws -> MaintenanceEntry?
}

extension MigrationJournal {
    func step(_ id: String, _ step: MigrationStep) async throws {
        try await self.step(id, step, detail: "")
    }
}

extension SQLiteJournal: MigrationJournal {
    var location: String { path }
    var isLeaderTerm: Bool { false }

    func orphaned() throws -> [MigrationRecord] {
        try unfinished().filter { record in
            guard let holder = try lockHolder(vm: record.vm), case .dead = holder.owner.liveness() else { return false }
            return true
        }
    }
}
