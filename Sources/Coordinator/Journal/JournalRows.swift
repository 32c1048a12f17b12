import Foundation
import GRDB

/// Mapping between the journal's rows and its Swift values. Kept by hand
/// rather than through GRDB's Codable records so the tables stay plain
/// columns (queryable in the sqlite3 shell) and the model types stay free of
/// GRDB.
extension MigrationRecord {
    init(row: Row) throws {
        self.init(
            id: row["id"], vm: row["vm"], source: row["source"], target: row["target"], mode: row["mode"],
            reason: row["reason"], startedAt: JournalTime.date(row["startedAt"]),
            finishedAt: (row["finishedAt"] as Double?).map(JournalTime.date),
            lastStep: try JournalRow.decode(row["lastStep"], column: "lastStep"),
            outcome: try (row["outcome"] as String?).map { try JournalRow.decode($0, column: "outcome") },
            error: row["error"],
            figures: MigrationFigures(row: row))
    }

    static let insertSQL = """
        INSERT INTO migration (id, vm, source, target, mode, reason, startedAt, finishedAt, lastStep, outcome, error, \
        \(JournalColumns.figures.map(\.name).joined(separator: ", "))) \
        VALUES (\(Array(repeating: "?", count: 11 + JournalColumns.figures.count).joined(separator: ", ")))
        """

    var insertArguments: StatementArguments {
        StatementArguments(
            [id, vm, source, target, mode, reason, JournalTime.seconds(startedAt), finishedAt.map(JournalTime.seconds),
             lastStep.rawValue, outcome?.rawValue, error] as [(any DatabaseValueConvertible)?]
        ) + figures.arguments
    }
}

extension MigrationFigures {
    init(row: Row) {
        self.init(
            setupMs: row["setupMs"], downtimeMsQEMU: row["downtimeMsQEMU"], downtimeMsGuest: row["downtimeMsGuest"],
            totalMs: row["totalMs"], bytes: (row["bytes"] as Int64?).map { UInt64(clamping: $0) },
            iterations: row["iterations"], dirtyRatePagesPerSecond: row["dirtyRatePagesPerSecond"],
            verifyMs: row["verifyMs"])
    }

    /// In the order of `JournalColumns.figures`. Bytes are clamped to
    /// SQLite's signed 64-bit integers (8 EiB is not a real migration).
    var arguments: StatementArguments {
        StatementArguments(
            [setupMs, downtimeMsQEMU, downtimeMsGuest, totalMs, bytes.map { Int64(clamping: $0) }, iterations,
             dirtyRatePagesPerSecond, verifyMs] as [(any DatabaseValueConvertible)?])
    }
}

extension JournalStep {
    init(row: Row) throws {
        self.init(
            migrationID: row["migrationID"], seq: row["seq"],
            step: try JournalRow.decode(row["step"], column: "step"), detail: row["detail"],
            at: JournalTime.date(row["at"]))
    }
}

extension LockOwner {
    init(lockRow row: Row) {
        self.init(
            pid: row["pid"], hostname: row["hostname"], startedAt: JournalTime.date(row["ownerStartedAt"]),
            bootID: row["bootID"], startTicks: (row["startTicks"] as Int64?).map { UInt64(clamping: $0) })
    }

    var lockArguments: [(any DatabaseValueConvertible)?] {
        [pid, hostname, JournalTime.seconds(startedAt), bootID, startTicks.map { Int64(clamping: $0) }]
    }
}

enum JournalRow {
    /// An enum column's value; a value this coord does not know means a newer
    /// coord wrote the row.
    static func decode<T: RawRepresentable>(_ raw: String, column: String) throws -> T where T.RawValue == String {
        guard let value = T(rawValue: raw) else {
            throw JournalError.unreadable("\(column) '\(raw)' is unknown to this coord (written by a newer version?)")
        }
        return value
    }
}

/// Dates as stored: REAL seconds since 2001-01-01 UTC, which is how `Date`
/// holds them, so every date reads back exactly equal (seconds since 1970
/// would lose the last bit now and then, and records would compare unequal).
/// In the sqlite3 shell: `datetime(startedAt + 978307200, 'unixepoch')`.
enum JournalTime {
    static func seconds(_ date: Date) -> Double { date.timeIntervalSinceReferenceDate }
    static func date(_ seconds: Double) -> Date { Date(timeIntervalSinceReferenceDate: seconds) }
}
