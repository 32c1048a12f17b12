import CLibSSH

/// One channel's state on its session's loop thread: the libssh channel, bytes
/// waiting to go out or to be read, and the continuations waiting on them.
/// Not Sendable; only `SessionCore` touches it, on the loop thread.
final class ChannelCore {
    private enum Phase { case opening, startingCommand, open, ended }

    private struct Outbound {
        var bytes: [UInt8]
        var sent = 0
        /// An end-of-file marker rather than data: sent once the writes before it are out.
        var isEOF = false
        let continuation: CheckedContinuation<Void, any Error>
    }

    /// How much unread stdout we take out of libssh. Beyond it libssh stops
    /// widening the SSH window, so a slow reader slows the remote writer.
    static let inboundLimit = 1 << 20

    let id: Int
    let target: ChannelTarget
    private let host: String
    private var channel: ssh_channel?
    private var phase = Phase.opening
    private let openDeadline: ContinuousClock.Instant
    private let openTimeout: Double
    private var openWaiter: CheckedContinuation<Int, any Error>?
    private var outbound: [Outbound] = []
    private var eofQueued = false
    private var inbound: [UInt8] = []
    private var stderr: [UInt8] = []
    private let stderrLimit: Int
    private var readers: [CheckedContinuation<[UInt8]?, any Error>] = []
    private var reachedEOF = false
    private var exitStatus: Int32?
    private var exitWaiters: [CheckedContinuation<Int32, any Error>] = []
    /// Why the channel ended; `.channelClosed` when we closed it ourselves.
    private var endReason: SSHError?
    /// True once no `SSHChannel` can refer to this any more (open failed, or closed).
    private(set) var isDisposable = false

    init(id: Int, target: ChannelTarget, host: String, channel: ssh_channel, openTimeout: Double,
         stderrLimit: Int, openWaiter: CheckedContinuation<Int, any Error>) {
        self.id = id
        self.target = target
        self.host = host
        self.channel = channel
        self.openTimeout = openTimeout
        self.openDeadline = .now + .seconds(openTimeout)
        self.stderrLimit = stderrLimit
        self.openWaiter = openWaiter
    }

    // MARK: Requests from SSHChannel

    func enqueueWrite(_ bytes: [UInt8], _ continuation: CheckedContinuation<Void, any Error>) {
        if let endReason { return continuation.resume(throwing: endReason) }
        if eofQueued { return continuation.resume(throwing: SSHError.channelClosed(host: host, target: "\(target) (input)")) }
        if bytes.isEmpty { return continuation.resume() }
        outbound.append(Outbound(bytes: bytes, continuation: continuation))
    }

    func enqueueEOF(_ continuation: CheckedContinuation<Void, any Error>) {
        if let endReason { return continuation.resume(throwing: endReason) }
        if eofQueued { return continuation.resume() }
        eofQueued = true
        outbound.append(Outbound(bytes: [], isEOF: true, continuation: continuation))
    }

    func read(_ continuation: CheckedContinuation<[UInt8]?, any Error>) {
        if !inbound.isEmpty {
            let chunk = inbound
            inbound = []
            return continuation.resume(returning: chunk)
        }
        if let endReason, endReason != .channelClosed(host: host, target: target.description) {
            return continuation.resume(throwing: endReason)
        }
        if reachedEOF || endReason != nil { return continuation.resume(returning: nil) }
        readers.append(continuation)
    }

    func waitForExitStatus(_ continuation: CheckedContinuation<Int32, any Error>) {
        if let exitStatus { return continuation.resume(returning: exitStatus) }
        if let endReason { return continuation.resume(throwing: exitFailure(endReason)) }
        exitWaiters.append(continuation)
    }

    var stderrOutput: [UInt8] { stderr }

    // MARK: Progress, once per loop turn

    func service() {
        if phase == .opening { advanceOpening() }
        if phase == .startingCommand { advanceCommand() }
        if phase == .open, let channel {
            flushOutbound(channel)
            drainStderr(channel)
            fillInbound(channel)
            deliverInbound(channel)
            collectExitStatus(channel)
        }
    }

    /// Open a channel of this target's kind. Non-blocking: SSH_AGAIN until the server answers.
    private func advanceOpening() {
        guard let channel else { return }
        let rc: Int32
        switch target {
        case .unixSocket(let path): rc = ssh_channel_open_forward_unix(channel, path, "127.0.0.1", 0)
        case .exec: rc = ssh_channel_open_session(channel)
        }
        if rc == SSH_OK {
            if case .exec = target { phase = .startingCommand } else { becomeOpen() }
        } else {
            handleOpenProgress(rc, channel)
        }
    }

    private func advanceCommand() {
        guard let channel, case .exec(let command) = target else { return }
        let rc = ssh_channel_request_exec(channel, command)
        if rc == SSH_OK { becomeOpen() } else { handleOpenProgress(rc, channel) }
    }

    private func handleOpenProgress(_ rc: Int32, _ channel: ssh_channel) {
        if rc == SSH_AGAIN {
            if ContinuousClock.now >= openDeadline {
                failOpen(.timedOut(host: host, stage: "channel-open (\(target))", seconds: openTimeout))
            }
            return
        }
        let session = ssh_channel_get_session(channel)
        failOpen(.channelOpenFailed(host: host, target: target.description,
                                    reason: session.map(LibSSH.lastError) ?? "refused"))
    }

    private func becomeOpen() {
        phase = .open
        openWaiter?.resume(returning: id)
        openWaiter = nil
    }

    private func failOpen(_ error: SSHError) {
        openWaiter?.resume(throwing: error)
        openWaiter = nil
        release()
        end(error)
        isDisposable = true
    }

    /// Hand bytes to libssh as far as the peer's window allows; the rest waits for the next turn.
    /// Each write's bytes go out contiguously, in the order the writes were made.
    private func flushOutbound(_ channel: ssh_channel) {
        while !outbound.isEmpty {
            if outbound[0].isEOF {
                let item = outbound.removeFirst()
                if ssh_channel_send_eof(channel) == SSH_ERROR {
                    item.continuation.resume(throwing: SSHError.channelClosed(host: host, target: target.description))
                } else {
                    item.continuation.resume()
                }
                continue
            }
            let remaining = outbound[0].bytes.count - outbound[0].sent
            let written = outbound[0].bytes.withUnsafeBytes { raw in
                ssh_channel_write(channel, raw.baseAddress! + outbound[0].sent, UInt32(remaining))
            }
            if written < 0 {
                // The remote end closed the channel, or the session broke (caught by SessionCore).
                let item = outbound.removeFirst()
                item.continuation.resume(throwing: SSHError.channelClosed(host: host, target: target.description))
                continue
            }
            outbound[0].sent += Int(written)
            guard outbound[0].sent == outbound[0].bytes.count else { return }  // window full
            outbound.removeFirst().continuation.resume()
        }
    }

    /// Always read stderr, so that a chatty remote command cannot stall on a full window.
    /// Only the newest `stderrLimit` bytes are kept.
    private func drainStderr(_ channel: ssh_channel) {
        guard case .exec = target else { return }
        while true {
            let chunk = Self.readChunk(channel, max: 32 * 1024, stderr: true)
            if chunk.isEmpty { break }
            stderr += chunk
            if stderr.count > stderrLimit { stderr.removeFirst(stderr.count - stderrLimit) }
        }
    }

    private func fillInbound(_ channel: ssh_channel) {
        while inbound.count < Self.inboundLimit {
            let chunk = Self.readChunk(channel, max: min(64 * 1024, Self.inboundLimit - inbound.count), stderr: false)
            if chunk.isEmpty { break }
            inbound += chunk
        }
    }

    private func deliverInbound(_ channel: ssh_channel) {
        if !inbound.isEmpty, !readers.isEmpty {
            let chunk = inbound
            inbound = []
            readers.removeFirst().resume(returning: chunk)
        }
        if inbound.isEmpty, !reachedEOF, ssh_channel_is_eof(channel) != 0 || ssh_channel_is_closed(channel) != 0 {
            reachedEOF = true
        }
        if reachedEOF, inbound.isEmpty {
            for reader in readers { reader.resume(returning: nil) }
            readers = []
        }
    }

    private func collectExitStatus(_ channel: ssh_channel) {
        guard case .exec = target, exitStatus == nil else { return }
        let status = ssh_channel_get_exit_status(channel)  // non-blocking here: -1 until known
        if status != -1 {
            exitStatus = status
            for waiter in exitWaiters { waiter.resume(returning: status) }
            exitWaiters = []
        } else if reachedEOF, ssh_channel_is_closed(channel) != 0, !exitWaiters.isEmpty {
            for waiter in exitWaiters { waiter.resume(throwing: exitFailure(nil)) }
            exitWaiters = []
        }
    }

    private static func readChunk(_ channel: ssh_channel, max: Int, stderr: Bool) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: max) { buffer, count in
            let n = ssh_channel_read_nonblocking(channel, buffer.baseAddress, UInt32(max), stderr ? 1 : 0)
            count = n > 0 ? Int(n) : 0  // 0: nothing yet; SSH_EOF / SSH_ERROR: seen via is_eof or the session check
        }
    }

    // MARK: Ending

    /// We close the channel: pending reads see end-of-file, pending writes fail.
    func close() {
        guard !isDisposable else { return }
        release()
        end(.channelClosed(host: host, target: target.description))
        isDisposable = true
    }

    /// The session is gone (closed, or the link died): everything pending fails with `error`.
    /// libssh frees the channel itself when the session is disconnected.
    func sessionEnded(_ error: SSHError) {
        channel = nil
        if let openWaiter {
            self.openWaiter = nil
            openWaiter.resume(throwing: error)
            isDisposable = true
        }
        end(error)
    }

    private func release() {
        if let channel { ssh_channel_free(channel) }  // sends EOF and CLOSE if still open
        channel = nil
    }

    private func end(_ reason: SSHError) {
        guard endReason == nil else { return }
        endReason = reason
        phase = .ended
        let isOurClose = reason == .channelClosed(host: host, target: target.description)
        for item in outbound { item.continuation.resume(throwing: reason) }
        outbound = []
        for reader in readers {
            if isOurClose { reader.resume(returning: nil) } else { reader.resume(throwing: reason) }
        }
        readers = []
        for waiter in exitWaiters { waiter.resume(throwing: exitFailure(reason)) }
        exitWaiters = []
    }

    private func exitFailure(_ reason: SSHError?) -> SSHError {
        if let reason, reason != .channelClosed(host: host, target: target.description) { return reason }
        if case .exec(let command) = target { return .noExitStatus(host: host, command: command) }
        return .channelClosed(host: host, target: target.description)
    }
}
