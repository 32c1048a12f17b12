import Foundation
import GRDB

/// Recording a migration's progress, and reading it back.
extension SQLiteJournal {
    /// Appends `step` to the migration's steps and makes it its `lastStep`.
    /// Call it BEFORE taking the step.
    func step(_ id: String, _ step: MigrationStep, detail: String = "") throws {
        try write("journal step \(step.rawValue) of migration \(id)") { db in
            try Self.requireUnfinished(db, id)
            try Self.appendStep(db, id, step, detail: detail, at: Date())
        }
    }

    /// Merges `figures` into the migration's: non-nil fields overwrite. Also
    /// allowed after `finish`, for figures measured late.
    func update(_ id: String, figures: MigrationFigures) throws {
        try write("record figures of migration \(id)") { db in
            guard let record = try Self.fetchRecord(db, id) else { throw JournalError.unknownMigration(id) }
            let merged = record.figures.merged(with: figures)
            let assignments = JournalColumns.figures.map { "\($0.name) = ?" }.joined(separator: ", ")
            try db.execute(
                sql: "UPDATE migration SET \(assignments) WHERE id = ?", arguments: merged.arguments + [id])
        }
    }

    /// Ends the migration: sets `finishedAt`, `outcome` and `error`, and
    /// releases its VM's lock, in one transaction.
    func finish(_ id: String, outcome: MigrationOutcome, error: String?) throws {
        try write("finish migration \(id)") { db in
            try Self.requireUnfinished(db, id)
            try Self.close(db, id, outcome: outcome, error: error, at: Date())
        }
    }

    func record(_ id: String) throws -> MigrationRecord? {
        try read("read migration \(id)") { db in try Self.fetchRecord(db, id) }
    }

    /// Migrations with no outcome yet, oldest first: what `coord recover` must finish or undo.
    func unfinished() throws -> [MigrationRecord] {
        try read("list unfinished migrations") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM migration WHERE outcome IS NULL ORDER BY startedAt, rowid")
                .map(MigrationRecord.init(row:))
        }
    }

    /// The newest `limit` migrations (of `vm`, when given), newest first.
    func history(vm: String?, limit: Int) throws -> [MigrationRecord] {
        try read("read the migration history") { db in
            let filter = vm == nil ? "" : "WHERE vm = ?"
            let arguments: StatementArguments = vm.map { [$0, limit] } ?? [limit]
            return try Row.fetchAll(
                db, sql: "SELECT * FROM migration \(filter) ORDER BY startedAt DESC, rowid DESC LIMIT ?",
                arguments: arguments
            ).map(MigrationRecord.init(row:))
        }
    }

    /// The migration's steps in the order they were journaled.
    func steps(_ id: String) throws -> [JournalStep] {
        try read("read the steps of migration \(id)") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM step WHERE migrationID = ? ORDER BY seq", arguments: [id])
                .map(JournalStep.init(row:))
        }
    }

    /// The full id of the one migration whose id starts with `prefix` (any
    /// case), for commands that let operators type a short id.
    func resolveID(_ prefix: String) throws -> String {
        try read("look up migration \(prefix)") { db in
            let ids = try String.fetchAll(
                db, sql: "SELECT id FROM migration WHERE upper(substr(id, 1, ?)) = upper(?) ORDER BY startedAt LIMIT 6",
                arguments: [prefix.count, prefix])
            if let exact = ids.first(where: { $0.caseInsensitiveCompare(prefix) == .orderedSame }) { return exact }
            guard !prefix.isEmpty, let only = ids.first else { throw JournalError.unknownMigration(prefix) }
            guard ids.count == 1 else { throw JournalError.ambiguousID(prefix: prefix, matches: ids) }
            return only
        }
    }

    // MARK: Inside a transaction

    static func fetchRecord(_ db: Database, _ id: String) throws -> MigrationRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM migration WHERE id = ?", arguments: [id]).map(MigrationRecord.init(row:))
    }

    @discardableResult
    static func requireUnfinished(_ db: Database, _ id: String) throws -> MigrationRecord {
        guard let record = try fetchRecord(db, id) else { throw JournalError.unknownMigration(id) }
        if let outcome = record.outcome { throw JournalError.alreadyFinished(id: id, outcome: outcome) }
        return record
    }

    static func appendStep(_ db: Database, _ id: String, _ step: MigrationStep, detail: String, at: Date) throws {
        let seq = try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) + 1 FROM step WHERE migrationID = ?", arguments: [id]) ?? 1
        try db.execute(
            sql: "INSERT INTO step (migrationID, seq, step, detail, at) VALUES (?, ?, ?, ?, ?)",
            arguments: [id, seq, step.rawValue, detail, JournalTime.seconds(at)])
        try db.execute(sql: "UPDATE migration SET lastStep = ? WHERE id = ?", arguments: [step.rawValue, id])
    }

    static func close(_ db: Database, _ id: String, outcome: MigrationOutcome, error: String?, at: Date) throws {
        try db.execute(
            sql: "UPDATE migration SET finishedAt = ?, outcome = ?, error = ? WHERE id = ?",
            arguments: [JournalTime.seconds(at), outcome.rawValue, error, id])
        try db.execute(sql: "DELETE FROM vmLock WHERE migrationID = ?", arguments: [id])
    }
}
