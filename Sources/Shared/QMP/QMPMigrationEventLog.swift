/// The last MIGRATION statuses a client saw, numbered, so `waitForMigration`
/// can notice a short-lived status (e.g. `device`) that polling would miss.
struct QMPMigrationEventLog {
    private(set) var count: UInt64 = 0
    private var recent: [(number: UInt64, status: QMP.MigrationStatus)] = []
    private let keep = 64

    mutating func record(_ status: QMP.MigrationStatus) {
        count += 1
        recent.append((count, status))
        if recent.count > keep { recent.removeFirst(recent.count - keep) }
    }

    /// Statuses recorded after `mark` (a past `count`), oldest first.
    func statuses(since mark: UInt64) -> [QMP.MigrationStatus] {
        recent.filter { $0.number > mark }.map(\.status)
    }
}
