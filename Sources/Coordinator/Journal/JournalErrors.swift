import Foundation

/// Thrown when another live coord holds the VM.
struct VMLockedError: Error, CustomStringConvertible {
    var vm: String
    var migrationID: String
    var owner: LockOwner

    var description: String {
        let whose = owner.hostname == ProcessIdentity.hostname()
            ? "\(owner.summary), which is still alive"
            : "\(owner.summary), another machine, so this coord cannot tell whether it is alive"
        return "\(vm) is locked by migration \(migrationID) of \(whose); wait for it to finish, "
            + "or once that coordinator is gone for good, run `coord recover`"
    }
}

/// Thrown by `begin` when the VM's lock is stale but its migration got past
/// the point where hosts were touched: the VM may be paused on its source, or
/// half-copied to its target, and must be recovered before it moves again.
struct VMNeedsRecoveryError: Error, CustomStringConvertible {
    var vm: String
    var migrationID: String
    var lastStep: MigrationStep
    var owner: LockOwner
    var why: String

    var description: String {
        "\(vm) has an unfinished migration \(migrationID), left at step \(lastStep.rawValue) by \(owner.summary) "
            + "(dead: \(why)); run `coord recover` before migrating it again"
    }
}

/// Misuse of the journal or a journal that cannot be used. Each names the
/// migration or file concerned.
enum JournalError: Error, CustomStringConvertible {
    case unknownMigration(String)
    case alreadyFinished(id: String, outcome: MigrationOutcome)
    case duplicateMigration(String)
    case ambiguousID(prefix: String, matches: [String])
    case cannotOpen(path: String, reason: String)
    case newerSchema(path: String)
    case unreadable(String)
    case storage(path: String, doing: String, reason: String)

    var description: String {
        switch self {
        case .unknownMigration(let id):
            "no migration \(id) in the journal"
        case .alreadyFinished(let id, let outcome):
            "migration \(id) has already finished (\(outcome.rawValue))"
        case .duplicateMigration(let id):
            "a migration with id \(id) is already in the journal"
        case .ambiguousID(let prefix, let matches):
            "'\(prefix)' matches \(matches.count) migrations (\(matches.prefix(5).joined(separator: ", "))); give more of the id"
        case .cannotOpen(let path, let reason):
            "cannot open the journal \(path): \(reason)"
        case .newerSchema(let path):
            "the journal \(path) was written by a newer coord; use that version (this one would not understand it)"
        case .unreadable(let what):
            "unreadable journal entry: \(what)"
        case .storage(let path, let doing, let reason):
            "journal \(path): could not \(doing): \(reason)"
        }
    }
}
