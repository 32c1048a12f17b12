import Foundation
import Logging
import Shared

/// The agent's side of fencing: remembers the highest coordinator epoch it
/// has seen, on disk so a restart does not forget it, and refuses requests
/// that carry a lower one (see `FenceToken`).
///
/// A higher epoch is written (and fsynced) before the request that brought
/// it runs, so once a new leader has acted here no older leader can act
/// again, even across an agent crash.
actor FenceGuard {
    struct Highest: Codable, Equatable {
        var epoch: UInt64
        var coordinator: String
        var cluster: String?
        var since: Date
    }

    private let path: String
    private let logger: Logger
    private(set) var highest: Highest?

    init(stateDir: String, logger: Logger) {
        path = (stateDir as NSString).appendingPathComponent("fence.json")
        self.logger = logger
        highest = Self.read(path)
    }

    /// What the file holds now (for tests and for a restarted agent).
    nonisolated var highestOnDisk: Highest? { Self.read(path) }

    private static func read(_ path: String) -> Highest? {
        (try? Data(contentsOf: URL(fileURLWithPath: path))).flatMap { try? JSONDecoder.fence.decode(Highest.self, from: $0) }
    }

    /// Throws `fenced` when `token` is older than the highest epoch seen.
    func admit(_ token: FenceToken?, method: String) throws {
        guard let token else { return }
        // A token that names no cluster cannot prove it is from a new one.
        if let highest, let cluster = token.cluster, cluster != highest.cluster {
            // Another coordinator cluster (etcd rebuilt): its epochs count afresh.
            try record(token, because: "coordinator cluster \(token.cluster ?? "-") replaces \(highest.cluster ?? "-"); epochs start over")
            return
        }
        if let highest, token.epoch < highest.epoch {
            logger.warning("fenced: refused \(method) from coordinator \(token.coordinator) at epoch \(token.epoch); epoch \(highest.epoch) (\(highest.coordinator)) leads since \(highest.since)")
            throw AgentError(
                .fenced,
                "\(method) refused: coordinator \(token.coordinator) acts at epoch \(token.epoch), but coordinator \(highest.coordinator) has led at epoch \(highest.epoch) since \(highest.since); a deposed leader may not act")
        }
        guard token.epoch > highest?.epoch ?? 0 else { return }
        try record(token, because: highest.map { "was \($0.epoch), \($0.coordinator)" } ?? "first seen")
    }

    private func record(_ token: FenceToken, because why: String) throws {
        let next = Highest(epoch: token.epoch, coordinator: token.coordinator, cluster: token.cluster, since: Date())
        do {
            try write(next)
        } catch {
            // Admitting a newer epoch we could not record would let an older
            // leader act again after a restart: refuse instead.
            throw AgentError(.internalError, "cannot record fence epoch \(token.epoch) in \(path): \(error)")
        }
        logger.notice("fence: coordinator \(token.coordinator) leads at epoch \(token.epoch) (\(why))")
        highest = next
    }

    private func write(_ value: Highest) throws {
        let data = try JSONEncoder.fence.encode(value)
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        let written = data.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        guard written == data.count, fsync(fd) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        guard rename(temporary, path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }
}

private extension JSONEncoder {
    static var fence: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}

private extension JSONDecoder {
    static var fence: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
