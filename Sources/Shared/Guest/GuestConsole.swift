/// Reads the lab guest's `FERRY …` console lines (guest/README.md) into what
/// the coordinator needs to judge a guest: is its heartbeat going, and has
/// its memory or disk check found damage.
public struct GuestStatus: Codable, Sendable, Equatable {
    public var ready: Bool = false
    public var firstHeartbeat: UInt64?
    public var lastHeartbeat: UInt64?
    /// Guest realtime clock of the last heartbeat, nanoseconds.
    public var lastHeartbeatRealNs: UInt64?
    public var heartbeats = 0
    /// Times the sequence number went backwards (a stale page came over).
    public var sequenceRegressions = 0
    public var memcheckOK: Bool?
    public var corruptLines = 0
    public var diskLast: UInt64?
    public var diskGaps = 0

    public init() {}

    /// True when the guest says nothing is wrong: no corruption, no disk
    /// gap, no heartbeat going backwards.
    public var intact: Bool { corruptLines == 0 && diskGaps == 0 && sequenceRegressions == 0 && memcheckOK != false }
}

public enum GuestConsole {
    /// Folds console text into a status. Kernel messages can cut into a line,
    /// so anything that does not start with `FERRY ` is ignored.
    public static func read(_ text: String, into status: inout GuestStatus) {
        // A last line without its newline may be cut short (the guest is
        // still writing it, or it was split by a migration): leave it out.
        var complete = Substring(text)
        if let last = complete.last, !last.isNewline {
            complete = complete.lastIndex(where: \.isNewline).map { complete[...$0] } ?? ""
        }
        for rawLine in complete.split(whereSeparator: \.isNewline) {  // "\r\n" is one Character
            guard rawLine.hasPrefix("FERRY ") else { continue }
            let words = rawLine.dropFirst(6).split(separator: " ")
            guard let kind = words.first else { continue }
            let fields = Dictionary(words.dropFirst().compactMap { word -> (Substring, Substring)? in
                guard let eq = word.firstIndex(of: "=") else { return nil }
                return (word[..<eq], word[word.index(after: eq)...])
            }, uniquingKeysWith: { first, _ in first })
            switch kind {
            case "ready":
                status.ready = true
            case "hb":
                guard let seq = fields["seq"].flatMap({ UInt64($0) }) else { continue }
                if let last = status.lastHeartbeat, seq < last { status.sequenceRegressions += 1 }
                if status.firstHeartbeat == nil { status.firstHeartbeat = seq }
                status.lastHeartbeat = seq
                status.lastHeartbeatRealNs = fields["real"].flatMap { UInt64($0) }
                status.heartbeats += 1
            case "memcheck":
                if words.count > 1 { status.memcheckOK = words[1] == "ok" }
            case "CORRUPT":
                status.corruptLines += 1
            case "disk":
                if words.count > 1 && words[1] == "GAP" { status.diskGaps += 1 }
                if let last = fields["last"].flatMap({ UInt64($0) }) { status.diskLast = last }
            default:
                break
            }
        }
    }

    public static func status(of text: String) -> GuestStatus {
        var status = GuestStatus()
        read(text, into: &status)
        return status
    }
}
