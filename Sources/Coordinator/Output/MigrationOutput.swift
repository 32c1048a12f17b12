import Foundation
import Shared
import Synchronization

/// Shows a migration as it goes: a progress line rewritten in place on a
/// terminal (a line every 2 s otherwise), or JSON lines for scripts
/// (`{"type":"phase"|"plan"|"progress"|"note"|"result"|"refused", ...}`).
final class MigrationOutput: Sendable {
    let json: Bool
    private let isTerminal = isatty(STDOUT_FILENO) == 1
    private let state = Mutex((lastPrinted: ContinuousClock.Instant?.none, lineOpen: false))

    init(json: Bool) { self.json = json }

    func show(_ event: MigrationEvent) {
        switch event {
        case .phase(let text):
            json ? emit(["type": "phase", "text": text]) : line(text)
        case .note(let text):
            json ? emit(["type": "note", "text": text]) : line("note: " + text)
        case .plan(let plan):
            json ? emit(["type": "plan", "mode": plan.kind.rawValue, "reason": plan.reason, "timeoutSeconds": plan.timeoutSeconds])
                : line("plan: \(plan.kind.rawValue): \(plan.reason)")
        case .progress(let progress, let elapsed):
            if json {
                emitEncodable(ProgressLine(progress: progress, elapsedMs: elapsed.milliseconds))
            } else {
                progressLine(progress, elapsed: elapsed)
            }
        }
    }

    func finish(_ report: MigrationReport) {
        if json { emitEncodable(ResultLine(result: report)); return }
        closeLine()
        let f = report.figures
        switch report.outcome {
        case .succeeded:
            print("\(report.vm) moved \(report.source) → \(report.target) (\(report.mode)): \(report.verification ?? "verified")")
        case .rolledBack:
            print("\(report.vm) was NOT moved; it runs on \(report.source). \(report.error ?? "")")
        case .failed:
            print("\(report.vm): migration FAILED: \(report.error ?? "unknown error")")
        }
        var parts: [String] = []
        if let t = f.totalMs { parts.append("total \(ms(t))") }
        if let d = f.downtimeMsQEMU { parts.append("downtime \(ms(d)) (QEMU)" + (f.downtimeMsGuest.map { " / \(ms($0)) (guest heartbeat gap)" } ?? "")) }
        if let s = f.setupMs { parts.append("setup \(ms(s))") }
        if let b = f.bytes { parts.append("\(ByteFormat.string(b)) sent") }
        if let i = f.iterations { parts.append("\(i) iteration\(i == 1 ? "" : "s")") }
        if !parts.isEmpty { print("  " + parts.joined(separator: ", ")) }
        print("  migration \(report.id) (coord history --steps \(report.id))")
    }

    func refused(vm: String, target: String, reason: String) {
        if json { emit(["type": "refused", "vm": vm, "target": target, "reason": reason]); return }
        closeLine()
        FileHandle.standardError.write(Data("coord: \(vm) → \(target) \(reason)\n".utf8))
    }

    private func progressLine(_ p: MigrationProgress, elapsed: Duration) {
        let total = Double(p.totalBytes ?? 0)
        let remaining = Double(p.remainingBytes ?? 0)
        let percent = total > 0 ? Int(((total - remaining) / total * 100).rounded(.down)) : 0
        var text = String(format: "  %3d%%  %@", percent, p.status)
        if let mbps = p.mbps, mbps > 0 { text += String(format: "  %.1f MiB/s", mbps / 8.388608) }
        if p.remainingBytes != nil { text += "  remaining \(ByteFormat.string(UInt64(remaining)))" }
        if let dirty = p.dirtyPagesRate { text += "  dirty \(dirty) pages/s" }
        if let i = p.iterations { text += "  iteration \(i)" }
        if let mbps = p.mbps, mbps > 0, remaining > 0 { text += String(format: "  ETA %.0fs", remaining * 8 / (mbps * 1_000_000)) }
        text += String(format: "  [%.1fs]", elapsed.milliseconds / 1000)
        if isTerminal {
            print("\r\u{1B}[2K" + text, terminator: "")
            fflush(nil)
            state.withLock { $0.lineOpen = true }
        } else {
            let now = ContinuousClock.now
            let due = state.withLock { s -> Bool in
                guard s.lastPrinted.map({ now - $0 >= .seconds(2) }) ?? true else { return false }
                s.lastPrinted = now
                return true
            }
            if due { print(text) }
        }
    }

    private func line(_ text: String) {
        closeLine()
        print(text)
    }

    private func closeLine() {
        let open = state.withLock { s -> Bool in
            defer { s.lineOpen = false }
            return s.lineOpen
        }
        if open { print("") }
    }

    private func ms(_ value: Double) -> String {
        value >= 10_000 ? String(format: "%.1f s", value / 1000) : "\(Int(value.rounded())) ms"
    }

    private func emit(_ object: [String: any Sendable]) {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        print(String(decoding: data, as: UTF8.self))
        fflush(nil)
    }

    private func emitEncodable<T: Encodable>(_ value: T) {
        guard let data = try? AgentProtocol.encoder().encode(value) else { return }
        print(String(decoding: data, as: UTF8.self))
        fflush(nil)
    }

    private struct ProgressLine: Encodable {
        let type = "progress"
        var progress: MigrationProgress
        var elapsedMs: Double
    }

    private struct ResultLine: Encodable {
        let type = "result"
        var result: MigrationReport
    }
}
