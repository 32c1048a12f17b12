import Foundation

/// The coordinator's end of one agent connection: sends typed requests,
/// matches replies to them by id, and hands pushed events to `events`.
public actor AgentClient {
    public enum ClientError: Error, CustomStringConvertible, Sendable {
        case closed(reason: String)
        case timedOut(method: String, seconds: Double)
        case malformedReply(String)
        case oversizedReply

        public var description: String {
            switch self {
            case .closed(let reason): "agent connection closed: \(reason)"
            case .timedOut(let method, let seconds): "agent did not answer \(method) within \(seconds) s"
            case .malformedReply(let detail): "agent sent a reply that could not be read: \(detail)"
            case .oversizedReply: "agent sent a message larger than \(AgentProtocol.maxMessageBytes) bytes"
            }
        }
    }

    /// An event as it arrived; decode `data` with `decode(_:)`.
    public struct Event: Sendable {
        public var topic: EventTopic
        public var raw: [UInt8]

        public func decode<T: Codable & Sendable>(_ type: T.Type) throws -> T {
            try AgentProtocol.decoder().decode(EventEnvelope<T>.self, from: Data(raw)).data
        }
    }

    private let stream: any ByteStream
    private var nextID: UInt64 = 1
    private var pending: [UInt64: CheckedContinuation<[UInt8], any Error>] = [:]
    private var closedReason: String?
    private var readerTask: Task<Void, Never>?
    private let eventContinuation: AsyncStream<Event>.Continuation
    public nonisolated let events: AsyncStream<Event>
    /// What `hello` told us, once the handshake is done.
    public private(set) var peer: HelloResult?

    /// Sent with every request when set: this coordinator leads a cluster.
    private let fence: FenceToken?

    public init(stream: any ByteStream, fence: FenceToken? = nil) {
        self.stream = stream
        self.fence = fence
        (events, eventContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1024))
    }

    /// Starts reading and performs the version handshake.
    @discardableResult
    public func connect(client: String, timeout: Double = 10) async throws -> HelloResult {
        startReader()
        let hello = try await call(AgentMethods.Hello.self, HelloParams(client: client), timeout: timeout)
        guard hello.version == AgentProtocol.version else {
            throw AgentError(.unsupportedVersion, "agent speaks protocol \(hello.version), coord speaks \(AgentProtocol.version)")
        }
        peer = hello
        return hello
    }

    public func call<M: AgentMethod>(_ method: M.Type, _ params: M.Params, timeout: Double = 30) async throws -> M.Result {
        if let closedReason { throw ClientError.closed(reason: closedReason) }
        // A cancelled caller (a coordinator that has just lost leadership)
        // must not get one more request out.
        try Task.checkCancellation()
        let id = nextID
        nextID += 1
        let line = try AgentProtocol.line(RequestEnvelope(id: id, method: M.name, params: params, fence: fence))

        let timeoutTask = Task { [weak self] in
            try await Task.sleep(for: .seconds(timeout))
            await self?.fail(id: id, with: ClientError.timedOut(method: M.name, seconds: timeout))
        }
        defer { timeoutTask.cancel() }

        let raw: [UInt8] = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                pending[id] = continuation
                Task { await self.send(line, id: id) }
            }
        } onCancel: {
            Task { await self.fail(id: id, with: CancellationError()) }
        }

        let envelope: ResponseEnvelope<M.Result>
        do {
            envelope = try AgentProtocol.decoder().decode(ResponseEnvelope<M.Result>.self, from: Data(raw))
        } catch {
            throw ClientError.malformedReply("\(M.name): \(error)")
        }
        if let error = envelope.error { throw error }
        guard let result = envelope.result else { throw ClientError.malformedReply("\(M.name): neither result nor error") }
        return result
    }

    public func close() async {
        shutDown(reason: "closed by coord")
        readerTask?.cancel()
        await stream.close()
    }

    private func send(_ line: [UInt8], id: UInt64) async {
        do {
            try await stream.write(line)
        } catch {
            fail(id: id, with: ClientError.closed(reason: "write failed: \(error)"))
        }
    }

    private func fail(id: UInt64, with error: any Error) {
        pending.removeValue(forKey: id)?.resume(throwing: error)
    }

    private func startReader() {
        guard readerTask == nil else { return }
        let stream = self.stream
        readerTask = Task { [weak self] in
            var framer = LineFramer()
            do {
                while let chunk = try await stream.read() {
                    for frame in framer.push(chunk) {
                        await self?.dispatch(frame)
                    }
                }
                await self?.shutDown(reason: "agent closed the connection")
            } catch {
                await self?.shutDown(reason: "\(error)")
            }
        }
    }

    private func dispatch(_ frame: LineFramer.Frame) {
        guard case .line(let line) = frame else {
            shutDown(reason: ClientError.oversizedReply.description)
            return
        }
        guard let header = try? AgentProtocol.decoder().decode(InboundHeader.self, from: Data(line)) else {
            return  // Unreadable line with no id: nothing can be matched to it.
        }
        if let topic = header.event {
            eventContinuation.yield(Event(topic: topic, raw: line))
        } else if let id = header.id, let continuation = pending.removeValue(forKey: id) {
            continuation.resume(returning: line)
        }
    }

    private func shutDown(reason: String) {
        guard closedReason == nil else { return }
        closedReason = reason
        let waiting = pending
        pending.removeAll()
        for continuation in waiting.values {
            continuation.resume(throwing: ClientError.closed(reason: reason))
        }
        eventContinuation.finish()
    }
}
