import Foundation
import Shared

/// One client connection's protocol state: whether it said hello, how many
/// requests it has in flight, and its event subscription.
actor AgentConnection {
    /// More requests than this at once from one client are refused, so one
    /// client cannot make the agent hold unbounded work.
    static let maxInFlight = 64

    let id = UUID()
    private(set) var greeted = false
    private var inFlight = 0
    private var forwarding: Task<Void, Never>?
    private let events: EventBus
    private let send: @Sendable ([UInt8]) async -> Void

    init(events: EventBus, send: @escaping @Sendable ([UInt8]) async -> Void) {
        self.events = events
        self.send = send
    }

    func markGreeted() { greeted = true }

    /// Takes a slot for one request; false when the client is at its limit.
    func begin() -> Bool {
        guard inFlight < Self.maxInFlight else { return false }
        inFlight += 1
        return true
    }

    func end() { inFlight -= 1 }

    func reply(_ line: [UInt8]) async { await send(line) }

    /// Replaces this connection's subscription with `topics`.
    func subscribe(to topics: Set<EventTopic>) async {
        forwarding?.cancel()
        let stream = await events.subscribe(id: id, topics: topics)
        let send = self.send
        forwarding = Task {
            for await line in stream { await send(line) }
        }
    }

    func close() async {
        forwarding?.cancel()
        await events.unsubscribe(id: id)
    }
}
