import Foundation

/// `coord history`'s human output: the table of migrations and one
/// migration's steps.
enum HistoryReport {
    static func table(_ records: [MigrationRecord], locks: [String: JournalLock], orphans: [MigrationRecord]) -> String {
        if records.isEmpty && orphans.isEmpty { return "No migrations in the journal." }
        var table = TextTable(
            "ID", "STARTED", "VM", "MOVE", "MODE", "RESULT", "SETUP", "DOWNTIME", "TOTAL", "BYTES", "ITER", "DIRTY/S")
        var notes: [Int: [String]] = [:]  // by rendered line (0 is the header)
        for (index, record) in records.enumerated() {
            let figures = record.figures
            table.add(
                String(record.id.prefix(8)), HistoryFormat.localTime(record.startedAt), record.vm,
                "\(record.source)→\(record.target)", record.mode, result(record, lock: locks[record.id]),
                HistoryFormat.duration(figures.setupMs), HistoryFormat.downtime(figures),
                HistoryFormat.duration(figures.totalMs), figures.bytes.map(ByteFormat.string) ?? "-",
                figures.iterations.map(String.init) ?? "-", HistoryFormat.rate(figures.dirtyRatePagesPerSecond))
            if let note = note(record, lock: locks[record.id]) { notes[index + 1] = HistoryFormat.wrap(note, indent: 4) }
        }
        // Notes go between the rendered rows so that they widen no column.
        var lines: [String] = []
        for (index, line) in table.render().split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            lines.append(String(line))
            lines += notes[index] ?? []
        }
        if !orphans.isEmpty {
            let vms = Set(orphans.map(\.vm)).sorted().joined(separator: ", ")
            let plural = orphans.count != 1
            lines += [""] + HistoryFormat.wrap(
                "\(orphans.count) unfinished migration\(plural ? "s" : "") (\(vms)) whose coord is gone or on another "
                    + "machine: run `coord recover` to finish or undo \(plural ? "them" : "it").", indent: 0)
        }
        return lines.joined(separator: "\n")
    }

    /// One migration and its steps, with times and the time since it started.
    static func steps(_ record: MigrationRecord, _ steps: [JournalStep], lock: JournalLock?) -> String {
        var lines = ["Migration \(record.id): \(record.vm) \(record.source)→\(record.target), \(record.mode)"]
        lines += HistoryFormat.wrap("why \(record.mode): \(record.reason)", indent: 2)
        lines.append("  result: \(result(record, lock: lock))" + (record.finishedAt.map { " at \(HistoryFormat.localTime($0))" } ?? ""))
        if let note = note(record, lock: lock) { lines += HistoryFormat.wrap(note, indent: 2) }
        var table = TextTable("SEQ", "TIME", "ELAPSED", "STEP", "DETAIL")
        for step in steps {
            table.add(
                "\(step.seq)", HistoryFormat.localTime(step.at, milliseconds: true),
                HistoryFormat.elapsed(step.at.timeIntervalSince(record.startedAt)), step.step.rawValue, step.detail)
        }
        return (lines + ["", steps.isEmpty ? "No steps journaled." : table.render()]).joined(separator: "\n")
    }

    static func result(_ record: MigrationRecord, lock: JournalLock?) -> String {
        switch record.outcome {
        case .succeeded: "succeeded"
        case .rolledBack: "rolled back"
        case .failed: "failed"
        case nil: lock?.inProgress == true ? "in progress" : "*unfinished*"
        }
    }

    /// The line under a row: why it failed, or where it stopped and who holds it.
    static func note(_ record: MigrationRecord, lock: JournalLock?) -> String? {
        switch record.outcome {
        case .succeeded:
            return nil
        case .failed, .rolledBack:
            return "error: \(record.error ?? "none recorded")"
        case nil:
            let step = record.lastStep.rawValue
            guard let lock else { return "stopped at step \(step); no coord holds it" }
            return switch lock.owner.liveness() {
            case .alive: "at step \(step), run by \(lock.owner.summary)"
            case .dead: "stopped at step \(step); \(lock.owner.summary) is gone"
            case .unknown: "at step \(step), held by \(lock.owner.summary), another machine: cannot tell whether it runs"
            }
        }
    }
}

/// The coord holding an unfinished migration, and whether it still runs.
struct JournalLock {
    var owner: LockOwner
    var inProgress: Bool

    init(owner: LockOwner) {
        self.owner = owner
        inProgress = owner.liveness() == .alive
    }
}

/// How history shows times, sizes and rates.
enum HistoryFormat {
    static func localTime(_ date: Date, milliseconds: Bool = false) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .current
        formatter.dateFormat = milliseconds ? "yyyy-MM-dd HH:mm:ss.SSS" : "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date)
    }

    /// 41 ms, 12.3 s, 4m05s; "-" when not measured.
    static func duration(_ milliseconds: Double?) -> String {
        guard let ms = milliseconds, ms.isFinite, ms >= 0 else { return "-" }
        if ms < 999.5 { return "\(Int(ms.rounded())) ms" }
        if ms < 59_950 { return String(format: "%.1f s", ms / 1000) }
        let seconds = Int((ms / 1000).rounded())
        return String(format: "%dm%02ds", seconds / 60, seconds % 60)
    }

    /// QEMU's downtime / the guest's heartbeat gap: "41 ms / 63 ms".
    static func downtime(_ figures: MigrationFigures) -> String {
        if figures.downtimeMsQEMU == nil && figures.downtimeMsGuest == nil { return "-" }
        return "\(duration(figures.downtimeMsQEMU)) / \(duration(figures.downtimeMsGuest))"
    }

    /// 850, 12.3k, 1.2M.
    static func rate(_ perSecond: Double?) -> String {
        guard let value = perSecond, value.isFinite, value >= 0 else { return "-" }
        if value < 9_999.5 { return "\(Int(value.rounded()))" }
        if value < 999_950 { return String(format: "%.1fk", value / 1000) }
        return String(format: "%.1fM", value / 1_000_000)
    }

    static func elapsed(_ seconds: TimeInterval) -> String {
        String(format: "+%.3f s", seconds)
    }

    /// `text` in lines of at most `width` characters (a longer word stays
    /// whole), each indented.
    static func wrap(_ text: String, indent: Int, width: Int = 100) -> [String] {
        let pad = String(repeating: " ", count: indent)
        var lines: [String] = []
        var line = ""
        for word in text.split(whereSeparator: \.isWhitespace) {
            if !line.isEmpty && indent + line.count + 1 + word.count > width {
                lines.append(pad + line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(pad + line) }
        return lines
    }
}
