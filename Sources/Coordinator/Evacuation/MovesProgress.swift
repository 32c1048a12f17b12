import Foundation
import Shared

/// The state of every migration of a running evacuation or balancing
/// round, as lines for a person: one per VM and one overall. Pure: the
/// output decides when and how to print them.
struct MovesProgress: Sendable {
    struct Row: Sendable {
        var vm: String
        var target: String
        var started: ContinuousClock.Instant?
        var phase = "waiting"
        var progress: MigrationProgress?
        var entry: MoveResult?
        var endedAfter: Duration?
    }

    /// What the overall line starts with: "evacuating h1", "balancing".
    let title: String
    private(set) var rows: [Row]
    let began: ContinuousClock.Instant

    /// `jobs` in schedule order.
    init(title: String, jobs: [MigrationQueue.Job], began: ContinuousClock.Instant) {
        self.title = title
        self.began = began
        rows = jobs.map { Row(vm: $0.vm, target: $0.target) }
    }

    mutating func apply(_ event: MoveEvent, at now: ContinuousClock.Instant) {
        switch event {
        case .started(let job):
            // A VM tried again (after a refusal) starts over, maybe elsewhere.
            update(job.vm) { row in
                row = Row(vm: job.vm, target: job.target)
                row.started = now
                row.phase = "starting"
            }
        case .migration(let vm, let event):
            update(vm) { row in
                switch event {
                case .phase(let text): row.phase = text
                case .plan(let plan): row.phase = "\(plan.kind.rawValue) migration"
                case .progress(let progress, _): row.progress = progress; row.phase = progress.status
                case .note: break
                }
            }
        case .finished(let entry):
            update(entry.vm) { row in
                row.entry = entry
                row.endedAfter = row.started.map { now - $0 }
            }
        }
    }

    private mutating func update(_ vm: String, _ change: (inout Row) -> Void) {
        guard let index = rows.firstIndex(where: { $0.vm == vm }) else { return }
        change(&rows[index])
    }

    var running: Int { rows.count { $0.started != nil && $0.entry == nil } }
    var waiting: Int { rows.count { $0.started == nil && $0.entry == nil } }
    var moved: Int { rows.count { $0.entry?.outcome == .moved } }
    var notMoved: Int { rows.count { $0.entry != nil && $0.entry?.outcome != .moved } }

    func lines(now: ContinuousClock.Instant) -> [String] {
        let width = rows.map(\.vm.count).max() ?? 0
        return rows.map { line($0, width: width, now: now) } + [overall(now: now)]
    }

    func overall(now: ContinuousClock.Instant) -> String {
        var parts = ["\(moved) of \(rows.count) moved"]
        if running > 0 { parts.append("\(running) running") }
        if waiting > 0 { parts.append("\(waiting) waiting") }
        if notMoved > 0 { parts.append("\(notMoved) NOT moved") }
        return title + ": " + parts.joined(separator: ", ") + "  " + Self.bar(done: moved + notMoved, of: rows.count)
            + String(format: "  [%.1fs]", (now - began).milliseconds / 1000)
    }

    func line(_ row: Row, width: Int, now: ContinuousClock.Instant) -> String {
        let head = "  " + row.vm.padding(to: width) + " → " + row.target
        if let entry = row.entry {
            var text = head + "  " + EvacuationReportText.result(entry)
            if let report = entry.migration, entry.outcome == .moved {
                let f = report.figures
                text += " (\(report.mode)" + (f.downtimeMsQEMU.map { ", downtime \(Int($0.rounded())) ms (QEMU)" } ?? "")
                    + (f.downtimeMsGuest.map { " / \(Int($0.rounded())) ms (guest)" } ?? "") + ")"
            } else if let reason = entry.reason {
                text += ": " + reason
            }
            if let after = row.endedAfter { text += String(format: "  [%.1fs]", after.milliseconds / 1000) }
            return text
        }
        guard let started = row.started else { return head + "  waiting" }
        var text = head
        if let p = row.progress, let total = p.totalBytes, total > 0 {
            let remaining = Double(p.remainingBytes ?? total)
            text += String(format: "  %3d%%", Int(((Double(total) - remaining) / Double(total) * 100).rounded(.down)))
        }
        text += "  " + row.phase
        if let mbps = row.progress?.mbps, mbps > 0 { text += String(format: "  %.1f MiB/s", mbps / 8.388608) }
        return text + String(format: "  [%.1fs]", (now - started).milliseconds / 1000)
    }

    /// `[#####-----]` over `width` cells.
    static func bar(done: Int, of total: Int, width: Int = 20) -> String {
        let filled = total > 0 ? min(width, done * width / total) : width
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]"
    }
}
