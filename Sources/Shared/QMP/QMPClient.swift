import Foundation
import Logging
import NIOCore
import NIOPosix

/// A connection to one QEMU's QMP socket: greeting, capability negotiation,
/// commands matched to replies by id, and a broadcast of events.
///
/// Transport is SwiftNIO rather than a blocking socket on a thread: the
/// agent keeps one QMP connection open per VM for the VM's whole life, and
/// NIO multiplexes them all on a few event loops instead of parking a thread
/// per VM. QEMU exiting shows up as the end of the inbound stream, which ends
/// every pending call with `connectionClosed`.
///
/// QEMU serves one QMP client per socket; call `close()` when done, or the
/// next `connect` to that socket waits for a greeting that never comes.
public actor QMPClient {
    public struct Options: Sendable {
        /// Covers reaching the socket (retried while QEMU is still creating
        /// it), the greeting and `qmp_capabilities`.
        public var connectTimeout: Duration
        /// Default limit for one command's reply.
        public var commandTimeout: Duration
        /// Longest line accepted from QEMU; a guard against a runaway peer only.
        public var maxLineBytes: Int

        public init(connectTimeout: Duration = .seconds(10), commandTimeout: Duration = .seconds(60), maxLineBytes: Int = QMPClient.defaultMaxLineBytes) {
            self.connectTimeout = connectTimeout
            self.commandTimeout = commandTimeout
            self.maxLineBytes = maxLineBytes
        }
    }

    public static let defaultMaxLineBytes = QMPWire.maxLineBytes

    private struct Pending {
        var command: String
        var continuation: CheckedContinuation<[UInt8], any Error>
    }

    public nonisolated let socketPath: String
    /// QEMU's greeting: its version and the protocol capabilities it offers.
    public private(set) var greeting: QMP.Greeting?

    private let options: Options
    private let logger: Logger
    private let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    private var writer: NIOAsyncChannelOutboundWriter<ByteBuffer>?
    private var readerTask: Task<Void, Never>?
    private var nextID: UInt64 = 1
    private var pending: [UInt64: Pending] = [:]
    private var greetingLine: [UInt8]?
    private var greetingWaiter: CheckedContinuation<[UInt8], any Error>?
    private var closedReason: String?
    private var nextSubscriberID: UInt64 = 1
    private var subscribers: [UInt64: AsyncStream<QMP.Event>.Continuation] = [:]
    private var migrationEvents = QMPMigrationEventLog()
    private var migrationEventWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]

    private init(socketPath: String, channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>, options: Options, logger: Logger) {
        self.socketPath = socketPath
        self.channel = channel
        self.options = options
        self.logger = logger
    }

    deinit {
        channel.channel.close(promise: nil)
    }

    /// Connects, reads the greeting and leaves capability negotiation mode.
    /// Retries a missing or refusing socket until `options.connectTimeout`,
    /// since a freshly started QEMU creates its socket a moment later.
    public static func connect(
        socketPath: String,
        options: Options = Options(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "ferry.qmp")
    ) async throws -> QMPClient {
        let clock = ContinuousClock()
        let deadline = clock.now + options.connectTimeout
        var lastError = "socket not tried"
        while clock.now < deadline {
            let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
            do {
                channel = try await ClientBootstrap(group: group)
                    .connectTimeout(.nanoseconds((deadline - clock.now).qmpNanoseconds))
                    .connect(unixDomainSocketPath: socketPath) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                        }
                    }
            } catch {
                lastError = "\(error)"
                try await Task.sleep(for: .milliseconds(50))
                continue
            }
            let client = QMPClient(socketPath: socketPath, channel: channel, options: options, logger: logger)
            do {
                try await client.handshake(until: deadline)
                return client
            } catch {
                await client.close()
                throw error
            }
        }
        throw QMP.ClientError.connectTimedOut(path: socketPath, seconds: options.connectTimeout.qmpSeconds, lastError: lastError)
    }

    /// Runs a command and decodes its `return` value as `Result`.
    public func execute<Result: Decodable & Sendable>(
        _ name: String,
        arguments: (any Encodable & Sendable)? = nil,
        returning: Result.Type,
        timeout: Duration? = nil
    ) async throws -> Result {
        let line = try await roundTrip(name, timeout: timeout) { id in
            if let arguments { try QMPWire.line(name, arguments: arguments, id: id) } else { try QMPWire.line(name, id: id) }
        }
        let reply: QMPWire.Reply<Result>
        do {
            reply = try JSONDecoder().decode(QMPWire.Reply<Result>.self, from: Data(line))
        } catch {
            throw QMP.ClientError.malformedReply(command: name, detail: "\(error)")
        }
        if let error = reply.error {
            throw QMP.CommandError(command: name, errorClass: error.errorClass, message: error.desc)
        }
        guard let result = reply.result else {
            throw QMP.ClientError.malformedReply(command: name, detail: "neither return nor error")
        }
        return result
    }

    /// The escape hatch: any command, its `return` value as raw JSON.
    public func execute(_ name: String, arguments: (any Encodable & Sendable)? = nil, timeout: Duration? = nil) async throws -> QMPValue {
        try await execute(name, arguments: arguments, returning: QMPValue.self, timeout: timeout)
    }

    /// A new stream of every event from now on. Each caller gets its own
    /// stream (keeping the newest `bufferingNewest` if it falls behind); all
    /// streams finish when the connection closes.
    public func events(bufferingNewest limit: Int = 4096) -> AsyncStream<QMP.Event> {
        let (stream, continuation) = AsyncStream.makeStream(of: QMP.Event.self, bufferingPolicy: .bufferingNewest(limit))
        guard closedReason == nil else {
            continuation.finish()
            return stream
        }
        let id = nextSubscriberID
        nextSubscriberID += 1
        subscribers[id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.unsubscribe(id) }
        }
        return stream
    }

    /// Whether the connection is still open.
    public var isConnected: Bool { closedReason == nil }

    /// Closes the socket; pending calls end with `connectionClosed`. QEMU keeps running.
    public func close() async {
        shutDown(reason: "closed by client")
        try? await channel.channel.close().get()
    }

    // MARK: - Internals

    private func handshake(until deadline: ContinuousClock.Instant) async throws {
        startReading()
        let line = try await awaitGreeting(until: deadline)
        do {
            greeting = try JSONDecoder().decode(QMPWire.GreetingLine.self, from: Data(line)).greeting
        } catch {
            throw QMP.ClientError.badGreeting("\(error)")
        }
        let remaining = deadline - ContinuousClock.now
        _ = try await execute("qmp_capabilities", returning: QMP.Empty.self, timeout: max(remaining, .milliseconds(100)))
    }

    private func awaitGreeting(until deadline: ContinuousClock.Instant) async throws -> [UInt8] {
        if let greetingLine { return greetingLine }
        if let closedReason { throw QMP.ClientError.connectionClosed(command: nil, reason: closedReason) }
        let seconds = options.connectTimeout.qmpSeconds
        let path = socketPath
        let timer = Task { [weak self] in
            guard (try? await Task.sleep(until: deadline)) != nil else { return }
            await self?.failGreeting(QMP.ClientError.connectTimedOut(
                path: path, seconds: seconds, lastError: "connected, but no greeting (is another client attached?)"))
        }
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { greetingWaiter = $0 }
    }

    private func failGreeting(_ error: any Error) {
        greetingWaiter?.resume(throwing: error)
        greetingWaiter = nil
    }

    private func roundTrip(_ name: String, timeout: Duration?, encode: (UInt64) throws -> [UInt8]) async throws -> [UInt8] {
        if let closedReason { throw QMP.ClientError.connectionClosed(command: name, reason: closedReason) }
        guard let writer else { throw QMP.ClientError.connectionClosed(command: name, reason: "not connected") }
        let id = nextID
        nextID += 1
        var buffer = channel.channel.allocator.buffer(capacity: 0)
        buffer.writeBytes(try encode(id))
        let limit = timeout ?? options.commandTimeout
        let timer = Task { [weak self] in
            guard (try? await Task.sleep(for: limit)) != nil else { return }
            await self?.complete(id: id, with: .failure(QMP.ClientError.commandTimedOut(command: name, seconds: limit.qmpSeconds)))
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                // Registered before the write, so a fast reply always finds it.
                pending[id] = Pending(command: name, continuation: continuation)
                Task {
                    do {
                        try await writer.write(buffer)
                    } catch {
                        self.complete(id: id, with: .failure(QMP.ClientError.connectionClosed(command: name, reason: "write failed: \(error)")))
                    }
                }
            }
        } onCancel: {
            Task { await self.complete(id: id, with: .failure(CancellationError())) }
        }
    }

    private func complete(id: UInt64, with result: Result<[UInt8], any Error>) {
        pending.removeValue(forKey: id)?.continuation.resume(with: result)
    }

    private func attach(_ writer: NIOAsyncChannelOutboundWriter<ByteBuffer>) {
        self.writer = writer
    }

    private func startReading() {
        guard readerTask == nil else { return }
        let channel = self.channel
        let maxLineBytes = options.maxLineBytes
        readerTask = Task.detached { [weak self] in
            let reason: String
            do {
                reason = try await channel.executeThenClose { inbound, outbound in
                    await self?.attach(outbound)
                    var framer = LineFramer(maxLineBytes: maxLineBytes)
                    for try await buffer in inbound {
                        for frame in framer.push(buffer.readableBytesView) {
                            guard let self else { return "client released" }
                            guard case .line(let line) = frame else {
                                return "QEMU sent a line longer than \(maxLineBytes) bytes"
                            }
                            await self.receive(line)
                        }
                    }
                    return "QEMU closed the QMP socket (exited or was killed)"
                }
            } catch {
                reason = "QMP socket error: \(error)"
            }
            await self?.shutDown(reason: reason)
        }
    }

    private func receive(_ line: [UInt8]) {
        let kind: QMPWire.Kind
        do {
            kind = try QMPWire.kind(of: line)
        } catch {
            logger.warning("ignoring unreadable QMP line", metadata: ["socket": "\(socketPath)", "error": "\(error)"])
            return
        }
        switch kind {
        case .greeting:
            greetingLine = line
            greetingWaiter?.resume(returning: line)
            greetingWaiter = nil
        case .reply(let id):
            // QEMU leaves out the id only when it could not parse a command;
            // without out-of-band execution replies come in order, so that
            // one answers the oldest command still waiting.
            guard let key = id ?? pending.keys.min() else { return }
            complete(id: key, with: .success(line))
        case .event:
            do {
                let event = try QMP.Event(line: line)
                if case .migration(let status) = event.kind { recordMigrationEvent(status) }
                for subscriber in subscribers.values { subscriber.yield(event) }
            } catch {
                logger.warning("ignoring unreadable QMP event", metadata: ["socket": "\(socketPath)", "error": "\(error)"])
            }
        }
    }

    /// The number of MIGRATION events so far.
    func migrationEventMark() -> UInt64 { migrationEvents.count }

    /// Statuses from MIGRATION events after `mark` (the last 64 at most).
    func migrationStatuses(since mark: UInt64) -> [QMP.MigrationStatus] {
        migrationEvents.statuses(since: mark)
    }

    /// Returns when a MIGRATION event after `mark` has arrived, or after `limit`.
    func migrationEvent(after mark: UInt64, within limit: Duration) async {
        guard migrationEvents.count == mark, closedReason == nil else { return }
        let id = nextSubscriberID
        nextSubscriberID += 1
        let timer = Task { [weak self] in
            guard (try? await Task.sleep(for: limit)) != nil else { return }
            await self?.wakeMigrationWaiter(id)
        }
        await withCheckedContinuation { migrationEventWaiters[id] = $0 }
        timer.cancel()
    }

    private func wakeMigrationWaiter(_ id: UInt64) {
        migrationEventWaiters.removeValue(forKey: id)?.resume()
    }

    private func recordMigrationEvent(_ status: QMP.MigrationStatus) {
        migrationEvents.record(status)
        let waiting = migrationEventWaiters
        migrationEventWaiters.removeAll()
        for waiter in waiting.values { waiter.resume() }
    }

    private func unsubscribe(_ id: UInt64) {
        subscribers.removeValue(forKey: id)
    }

    private func shutDown(reason: String) {
        guard closedReason == nil else { return }
        closedReason = reason
        let waiting = pending
        pending.removeAll()
        for call in waiting.values {
            call.continuation.resume(throwing: QMP.ClientError.connectionClosed(command: call.command, reason: reason))
        }
        failGreeting(QMP.ClientError.connectionClosed(command: nil, reason: reason))
        for subscriber in subscribers.values { subscriber.finish() }
        subscribers.removeAll()
        let sleepers = migrationEventWaiters
        migrationEventWaiters.removeAll()
        for waiter in sleepers.values { waiter.resume() }
        writer?.finish()
        channel.channel.close(promise: nil)
    }
}

extension Duration {
    var qmpSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    var qmpNanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
