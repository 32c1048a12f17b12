import Foundation
import Shared

/// Fans agent events out to the connections that subscribed to them.
actor EventBus {
    private struct Subscriber {
        var topics: Set<EventTopic>
        var continuation: AsyncStream<[UInt8]>.Continuation
    }

    private var subscribers: [UUID: Subscriber] = [:]

    /// A stream of encoded event lines for `topics`; it ends on `unsubscribe`.
    func subscribe(id: UUID, topics: Set<EventTopic>) -> AsyncStream<[UInt8]> {
        // A slow reader loses the oldest events rather than growing memory.
        let (stream, continuation) = AsyncStream.makeStream(of: [UInt8].self, bufferingPolicy: .bufferingNewest(256))
        subscribers[id]?.continuation.finish()
        subscribers[id] = Subscriber(topics: topics, continuation: continuation)
        return stream
    }

    func unsubscribe(id: UUID) {
        subscribers.removeValue(forKey: id)?.continuation.finish()
    }

    func publish<T: Codable & Sendable>(_ topic: EventTopic, _ data: T) {
        guard let line = try? AgentProtocol.line(EventEnvelope(event: topic, data: data)) else { return }
        for subscriber in subscribers.values where subscriber.topics.contains(topic) {
            subscriber.continuation.yield(line)
        }
    }

    var subscriberCount: Int { subscribers.count }
}
