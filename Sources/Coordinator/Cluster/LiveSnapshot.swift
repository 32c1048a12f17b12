import Foundation

/// The live cluster as the planner sees it, with what only the journal
/// knows: which hosts are in maintenance and when each VM last moved.
struct LiveSnapshot: Sendable {
    var snapshot: ClusterSnapshot
    /// Every configured host's survey answer (down hosts with their reason).
    var reports: [HostReport]
    var maintenance: [String: MaintenanceEntry]

    static func take(config: CoordConfig, journal: MigrationJournal) async throws -> LiveSnapshot {
        let reports = await ClusterSurvey(config: config).survey()
        let maintenance = try await journal.maintenance()
        let snapshot = ClusterSnapshot(
            reports: reports, takenAt: Date(), maintenance: Set(maintenance.keys), lastMovedAt: try await journal.lastMoves())
        return LiveSnapshot(snapshot: snapshot, reports: reports, maintenance: maintenance)
    }

    var downHosts: [HostReport] { reports.filter { $0.state == .down } }
}
