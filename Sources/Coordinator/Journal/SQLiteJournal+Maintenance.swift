import Foundation
import GRDB

/// Hosts in maintenance: the planner places nothing on them and migration
/// pre-checks refuse them as targets. The flag lives in the journal, not on
/// the host, so it holds while the host is down.
extension SQLiteJournal {
    /// Puts `host` in maintenance (`on`) or takes it out. Returns whether
    /// anything changed: entering twice keeps the first `since` (a new
    /// `reason` replaces the old one and returns false); leaving a host not
    /// in maintenance changes nothing.
    @discardableResult
    func setMaintenance(_ host: String, on: Bool, reason: String?) throws -> Bool {
        try write("\(on ? "put" : "take") \(host) \(on ? "in" : "out of") maintenance") { db in
            guard on else {
                try db.execute(sql: "DELETE FROM maintenance WHERE host = ?", arguments: [host])
                return db.changesCount > 0
            }
            if try Self.maintenance(db, host: host) != nil {
                if let reason {
                    try db.execute(sql: "UPDATE maintenance SET reason = ? WHERE host = ?", arguments: [reason, host])
                }
                return false
            }
            try db.execute(
                sql: "INSERT INTO maintenance (host, since, reason) VALUES (?, ?, ?)",
                arguments: [host, JournalTime.seconds(Date()), reason])
            return true
        }
    }

    /// Every host in maintenance.
    func maintenance() throws -> [String: MaintenanceEntry] {
        try read("read maintenance flags") { db in
            var entries: [String: MaintenanceEntry] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT * FROM maintenance") {
                entries[row["host"]] = Self.entry(row)
            }
            return entries
        }
    }

    /// `host`'s maintenance entry, nil when it is not in maintenance.
    func maintenance(host: String) throws -> MaintenanceEntry? {
        try read("read the maintenance flag of \(host)") { db in try Self.maintenance(db, host: host) }
    }

    private static func maintenance(_ db: Database, host: String) throws -> MaintenanceEntry? {
        try Row.fetchOne(db, sql: "SELECT * FROM maintenance WHERE host = ?", arguments: [host]).map(entry)
    }

    private static func entry(_ row: Row) -> MaintenanceEntry {
        MaintenanceEntry(since: JournalTime.date(row["since"]), reason: row["reason"])
    }
}
