import Shared

/// Takes turns on each VM's QMP socket.
///
/// QEMU serves one QMP client at a time: a second connection is accepted but
/// gets no greeting until the first one closes. Without this gate, two of the
/// agent's own requests for one VM (a `vm show` next to a resume, say) could
/// time out on each other under load, and a failed resume rolls a migration
/// back. With it they queue, first come first served.
actor QMPGate {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private var held: Set<String> = []
    private var waiters: [String: [Waiter]] = [:]
    private var nextID: UInt64 = 0

    /// Waits until `name`'s socket is free, at most `limit` (zero: not at all).
    func acquire(_ name: String, within limit: Duration) async throws {
        guard held.contains(name) else {
            held.insert(name)
            return
        }
        guard limit > .zero else { throw AgentError(.unavailable, "the QMP socket of \(name) is busy with another request") }
        let id = nextID
        nextID += 1
        let timer = Task { [weak self] in
            guard (try? await Task.sleep(for: limit)) != nil else { return }
            await self?.giveUp(name, id, AgentError(.unavailable, "the QMP socket of \(name) stayed busy with another request for \(limit)"))
        }
        defer { timer.cancel() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { waiters[name, default: []].append(Waiter(id: id, continuation: $0)) }
        } onCancel: {
            Task { await self.giveUp(name, id, CancellationError()) }
        }
    }

    /// Hands the socket to the next in line, or frees it.
    func release(_ name: String) {
        guard var queue = waiters[name], !queue.isEmpty else {
            held.remove(name)
            return
        }
        let next = queue.removeFirst()
        waiters[name] = queue.isEmpty ? nil : queue
        next.continuation.resume()
    }

    private func giveUp(_ name: String, _ id: UInt64, _ error: any Error) {
        guard let index = waiters[name]?.firstIndex(where: { $0.id == id }) else { return }
        let waiter = waiters[name]!.remove(at: index)
        if waiters[name]?.isEmpty == true { waiters[name] = nil }
        waiter.continuation.resume(throwing: error)
    }
}
