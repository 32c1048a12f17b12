/// One channel of an `SSHSession`: a Unix-socket stream or a remote command's
/// stdin/stdout. Reads and writes may run concurrently; each `write` lands whole,
/// in call order. Closing the session ends the channel; a dead link makes pending
/// and later calls throw `SSHError.disconnected`.
public final class SSHChannel: ByteStream {
    /// Kept so the session lives as long as any of its channels.
    public let session: SSHSession
    public let target: ChannelTarget
    private let id: Int

    init(session: SSHSession, id: Int, target: ChannelTarget) {
        self.session = session
        self.id = id
        self.target = target
    }

    deinit {
        let id = self.id
        session.loop.submit { core in core?.closeChannel(id) }
    }

    /// Returns once libssh has taken all of `bytes` (the peer's window limits how far ahead we get).
    public func write(_ bytes: [UInt8]) async throws {
        try await onChannel { channel, continuation in channel.enqueueWrite(bytes, continuation) } missing: { continuation in
            continuation.resume(throwing: self.closedError)
        }
    }

    /// The next bytes received; nil once the peer sent end-of-file or we closed the channel.
    public func read() async throws -> [UInt8]? {
        try await onChannel { channel, continuation in channel.read(continuation) } missing: { continuation in
            continuation.resume(returning: nil)
        }
    }

    /// Tells the remote side that no more input is coming (a command sees EOF on stdin), after pending writes.
    public func sendEOF() async throws {
        try await onChannel { channel, continuation in channel.enqueueEOF(continuation) } missing: { continuation in
            continuation.resume(throwing: self.closedError)
        }
    }

    /// The remote command's exit status; waits for the command to end.
    public func exitStatus() async throws -> Int32 {
        try await onChannel { channel, continuation in channel.waitForExitStatus(continuation) } missing: { continuation in
            continuation.resume(throwing: self.closedError)
        }
    }

    /// The newest bytes the remote command wrote to stderr (see `SSHSession.openExec`).
    public func stderrOutput() async -> [UInt8] {
        (try? await onChannel { channel, continuation in continuation.resume(returning: channel.stderrOutput) } missing: { continuation in
            continuation.resume(returning: [])
        }) ?? []
    }

    public func close() async {
        let id = self.id
        try? await session.loop.perform { (core, continuation: CheckedContinuation<Void, any Error>) in
            core?.closeChannel(id)
            continuation.resume()
        }
    }

    private var closedError: SSHError {
        .channelClosed(host: session.endpoint.name, target: target.description)
    }

    /// Runs `body` on the session's loop with this channel's state, or `missing` once it is closed.
    private func onChannel<T: Sendable>(
        _ body: @escaping @Sendable (ChannelCore, CheckedContinuation<T, any Error>) -> Void,
        missing: @escaping @Sendable (CheckedContinuation<T, any Error>) -> Void
    ) async throws -> T {
        let id = self.id
        return try await session.loop.perform { core, continuation in
            if let channel = core?.channel(id) { body(channel, continuation) } else { missing(continuation) }
        }
    }
}
