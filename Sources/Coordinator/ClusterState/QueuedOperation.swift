import Foundation

/// Work an operator asked a coordinator cluster for, kept in etcd until the
/// leader has done it. Survives the leader: a new leader resumes whatever is
/// queued or was running.
struct QueuedOperation: Codable, Sendable, Equatable {
    enum State: String, Codable, Sendable {
        case queued, running, succeeded, failed

        var isFinal: Bool { self == .succeeded || self == .failed }
    }

    struct Evacuate: Codable, Sendable, Equatable {
        var host: String
        var parallel: Int
        var mode: MigrationMode
        var maxDowntimeMs: Int
        var bandwidthMiBps: Double?
        var verifyTimeoutSeconds: Double
        var reason: String?
    }

    /// Time-ordered, so the queue runs in the order operations were asked for.
    var id: String
    var evacuate: Evacuate
    /// Progress as JSON lines (docs/json.md) rather than text.
    var json: Bool
    var state: State
    var requestedAt: Date
    var requestedBy: String
    var startedAt: Date?
    var finishedAt: Date?
    /// Each coordinator that ran it, with its epoch: more than one when a
    /// leader was lost halfway.
    var runBy: [String]
    var summary: String?

    static func newID(now: Date = Date()) -> String {
        let stamp = Int64(now.timeIntervalSince1970 * 1000)
        return String(format: "%013lld-", stamp) + UUID().uuidString.prefix(8).lowercased()
    }

    var title: String { "evacuate \(evacuate.host)" }
}
