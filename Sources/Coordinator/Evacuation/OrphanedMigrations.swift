import Foundation

/// Migrations left unfinished by a coord that is gone, settled before new
/// work starts (as `coord migrate` does, and `coord recover` by hand), so a
/// crash never leaves a VM half-moved and locked behind an evacuation or a
/// balancing round.
enum OrphanedMigrations {
    static func settle(config: CoordConfig, journal: MigrationJournal, say: @escaping @Sendable (String) -> Void) async throws {
        for record in try await journal.orphaned() {
            say("settling migration \(record.id) of \(record.vm), left unfinished by a coord that is gone")
            let result = await MigrationSettler(config: config, journal: journal, emit: { say("  " + $0) }).settle(record)
            say("  \(result.detail)")
        }
    }
}
