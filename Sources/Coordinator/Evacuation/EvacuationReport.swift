import Foundation

/// How an evacuation ended, VM by VM: what `coord evacuate` prints last
/// (a table, or `{"type":"report","report":…}` with --json; docs/json.md).
struct EvacuationReport: Codable, Sendable {
    var host: String
    var parallel: Int
    var startedAt: Date
    /// From the first migration's start to the last one's end.
    var wallSeconds: Double
    var entries: [MoveResult]
    /// VMs the host still runs after the evacuation, from a fresh survey of
    /// it; nil when it did not answer.
    var leftOnHost: [String]?

    /// True only when the host was seen to run no VM at the end.
    var hostEmpty: Bool { leftOnHost?.isEmpty ?? false }

    func count(_ outcome: MoveResult.Outcome) -> Int { entries.count { $0.outcome == outcome } }
}

extension MoveResult {
    /// An entry for a VM the plan could not place: the reason it cannot be
    /// moved, or every host's reason in one line.
    init(unplaced: EvacuationPlan.Unplaced) {
        let hosts = unplaced.rejections.filter { $0.reason != "being evacuated" }
            .map { "\($0.host): \($0.reason)" }.joined(separator: "; ")
        self.init(vm: unplaced.vm, source: unplaced.source, target: nil, outcome: .notPlaced,
                  reason: unplaced.reason ?? (hosts.isEmpty ? "no other host" : "fits on no host (\(hosts))"))
    }
}

/// The end-of-run table and summary lines.
enum EvacuationReportText {
    static func render(_ report: EvacuationReport) -> String {
        var table = TextTable("VM", "FROM", "TO", "RESULT", "MODE", "DOWNTIME QEMU/GUEST", "TIME", "NOTE")
        for entry in report.entries {
            let figures = entry.migration?.figures
            table.add(
                entry.vm, entry.source, entry.target ?? "-", result(entry), entry.migration?.mode ?? "-",
                downtime(figures), figures?.totalMs.map { seconds($0 / 1000) } ?? "-",
                entry.outcome == .moved ? "" : (entry.reason ?? ""))
        }
        var lines = report.entries.isEmpty ? [] : [trimmed(table.render())]
        let moved = report.count(.moved)
        lines.append("\(moved) of \(report.entries.count) VM\(report.entries.count == 1 ? "" : "s") moved in \(seconds(report.wallSeconds)) (up to \(report.parallel) at a time).")
        switch report.leftOnHost {
        case nil:
            lines.append("\(report.host) did not answer at the end: whether it still runs VMs is unknown.")
        case let left? where left.isEmpty:
            lines.append("\(report.host) runs no VM now. It stays in maintenance until `coord maintenance exit \(report.host)`.")
        case let left?:
            lines.append("\(report.host) still runs \(left.count) VM\(left.count == 1 ? "" : "s"): \(left.joined(separator: ", ")). It stays in maintenance.")
        }
        return lines.joined(separator: "\n")
    }

    static func result(_ entry: MoveResult) -> String {
        switch entry.outcome {
        case .moved: "moved"
        case .rolledBack: "NOT MOVED (rolled back)"
        case .failed: "FAILED"
        case .refused: "NOT MOVED (refused)"
        case .notPlaced: "NOT MOVED (no host)"
        case .notStarted: "NOT MOVED (aborted)"
        }
    }

    static func milliseconds(_ value: Double) -> String { "\(Int(value.rounded())) ms" }

    /// QEMU's downtime figure, and the guest's own heartbeat gap when known.
    static func downtime(_ figures: MigrationFigures?) -> String {
        guard let qemu = figures?.downtimeMsQEMU else { return "-" }
        return milliseconds(qemu) + (figures?.downtimeMsGuest.map { " / " + milliseconds($0) } ?? "")
    }

    /// A table whose last column is empty on some rows ends those rows in spaces.
    static func trimmed(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { String($0.reversed().drop { $0 == " " }.reversed()) }.joined(separator: "\n")
    }

    static func seconds(_ value: Double) -> String {
        value < 10 ? String(format: "%.1f s", value) : "\(Int(value.rounded())) s"
    }
}
