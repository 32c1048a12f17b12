import Foundation
import GRDB

extension SQLiteJournal {
    /// When each VM last arrived somewhere: the end of its newest successful
    /// migration. Balancing leaves a VM alone for a cool-down after it, so a
    /// VM is not bounced between hosts by successive plans.
    func lastMoves() throws -> [String: Date] {
        try read("read when VMs last moved") { db in
            var moves: [String: Date] = [:]
            let rows = try Row.fetchAll(
                db, sql: "SELECT vm, MAX(finishedAt) AS at FROM migration WHERE outcome = ? AND finishedAt IS NOT NULL GROUP BY vm",
                arguments: [MigrationOutcome.succeeded.rawValue])
            for row in rows {
                moves[row["vm"]] = JournalTime.date(row["at"])
            }
            return moves
        }
    }
}
