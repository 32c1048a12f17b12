import Foundation

/// The lines a queued operation prints, written to etcd in order as the
/// leader produces them, for `coord evacuate` (on any machine) to follow.
/// `MovesOutput` writes synchronously, so lines go through a stream that one
/// task drains.
final class OperationLog: Sendable {
    private let continuation: AsyncStream<String>.Continuation
    private let drained: Task<Void, Never>

    init(client: EtcdClient, keys: ClusterKeys, id: String, firstSeq: Int) {
        let (lines, continuation) = AsyncStream.makeStream(of: String.self)
        self.continuation = continuation
        drained = Task {
            var seq = firstSeq
            for await line in lines {
                // Losing a progress line must not stop an evacuation.
                _ = try? await client.put(keys.operationEvent(id, seq), Data(line.utf8))
                seq += 1
            }
        }
    }

    func write(_ line: String) { continuation.yield(line) }

    /// Waits until every line written so far is in etcd.
    func close() async {
        continuation.finish()
        await drained.value
    }
}
