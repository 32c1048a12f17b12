import CLibSSH
import Foundation

/// Everything about one SSH session that lives on its `SessionLoop` thread: the
/// libssh session, its channels and the link watch. Not Sendable: only the loop
/// thread touches it.
final class SessionCore {
    let endpoint: SSHEndpoint
    let options: SSHOptions
    private let wakeFD: Int32
    private var session: ssh_session?
    private var event: ssh_event?
    /// [0]: bytes on the socket (liveness); [1]: SSH packets (keepalives sent). libssh
    /// writes into these, so they live at a fixed address for the session's lifetime.
    private var counters: UnsafeMutablePointer<ssh_counter_struct>?
    private var linkWatch = LinkWatch()
    private var channels: [Int: ChannelCore] = [:]
    private var nextChannelID = 1
    /// Why the session ended; later requests fail with it.
    private var endReason: SSHError?
    private(set) var isFinished = false

    /// The longest the loop sleeps: also how late a timeout or keepalive can be noticed.
    static let tick = 500

    init(endpoint: SSHEndpoint, options: SSHOptions, wakeFD: Int32) {
        self.endpoint = endpoint
        self.options = options
        self.wakeFD = wakeFD
    }

    // MARK: Connecting

    /// TCP connect, key exchange, host-key check, authentication; then the session
    /// goes non-blocking for the channel loop. Returns the host key's fingerprint.
    func connect() throws(SSHError) -> String {
        let deadline = ContinuousClock.now + .seconds(options.connectTimeout)
        guard LibSSH.isInitialised else {
            throw .connectFailed(host: endpoint.name, address: endpoint.address, reason: "libssh did not initialise")
        }
        guard let session = ssh_new() else {
            throw .connectFailed(host: endpoint.name, address: endpoint.address, reason: "out of memory")
        }
        self.session = session
        try configure(session)

        // Blocking calls, each bounded by libssh's timeout, which we keep at the time left.
        ssh_set_blocking(session, 1)
        try limitTime(session, until: deadline, stage: "tcp-connect")
        if ssh_connect(session) != SSH_OK { throw connectError(session) }
        let fingerprint = try HostKeyCheck(endpoint: endpoint, options: options).verify(session)
        try limitTime(session, until: deadline, stage: "authentication")
        try Authenticator(endpoint: endpoint, options: options).authenticate(session)

        ssh_set_blocking(session, 0)
        try startEventLoop(session)
        return fingerprint
    }

    private func configure(_ session: ssh_session) throws(SSHError) {
        var port = UInt32(endpoint.port)
        var processConfig = false  // ignore ~/.ssh/config and /etc/ssh/ssh_config
        var verbosity = Int32(SSH_LOG_NOLOG)
        var ok = ssh_options_set(session, SSH_OPTIONS_HOST, endpoint.address) == SSH_OK
        ok = ok && ssh_options_set(session, SSH_OPTIONS_PORT, &port) == SSH_OK
        ok = ok && ssh_options_set(session, SSH_OPTIONS_USER, endpoint.user) == SSH_OK
        ok = ok && ssh_options_set(session, SSH_OPTIONS_KNOWNHOSTS, options.knownHostsPath) == SSH_OK
        ok = ok && ssh_options_set(session, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null") == SSH_OK
        ok = ok && ssh_options_set(session, SSH_OPTIONS_PROCESS_CONFIG, &processConfig) == SSH_OK
        ok = ok && ssh_options_set(session, SSH_OPTIONS_LOG_VERBOSITY, &verbosity) == SSH_OK
        if let agent = options.agentSocket {
            ok = ok && ssh_options_set(session, SSH_OPTIONS_IDENTITY_AGENT, agent) == SSH_OK
        }
        guard ok else {
            throw .connectFailed(host: endpoint.name, address: endpoint.address,
                                 reason: "invalid ssh option: \(LibSSH.lastError(session))")
        }
    }

    private func limitTime(_ session: ssh_session, until deadline: ContinuousClock.Instant, stage: String) throws(SSHError) {
        let left = ContinuousClock.now.duration(to: deadline)
        guard left > .milliseconds(1) else {
            throw .timedOut(host: endpoint.name, stage: stage, seconds: options.connectTimeout)
        }
        var seconds = Int(left.components.seconds)
        var microseconds = Int(left.components.attoseconds / 1_000_000_000_000)
        ssh_options_set(session, SSH_OPTIONS_TIMEOUT, &seconds)
        ssh_options_set(session, SSH_OPTIONS_TIMEOUT_USEC, &microseconds)
    }

    private func connectError(_ session: ssh_session) -> SSHError {
        let message = LibSSH.lastError(session)
        guard message.hasPrefix("Timeout") else {
            return .connectFailed(host: endpoint.name, address: endpoint.address, reason: message)
        }
        // Say how far we got: no TCP connection, a silent server, or a stalled key exchange.
        var peer = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let connected = withUnsafeMutablePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(ssh_get_fd(session), $0, &length) == 0 }
        }
        let stage = !connected ? "tcp-connect" : ssh_get_serverbanner(session) == nil ? "ssh-banner" : "key-exchange"
        return .timedOut(host: endpoint.name, stage: stage, seconds: options.connectTimeout)
    }

    private func startEventLoop(_ session: ssh_session) throws(SSHError) {
        guard let event = ssh_event_new() else {
            throw .connectFailed(host: endpoint.name, address: endpoint.address, reason: "out of memory")
        }
        self.event = event
        let drainWakePipe: ssh_event_callback = { fd, _, _ in
            var scratch = [UInt8](repeating: 0, count: 64)
            while read(fd, &scratch, scratch.count) > 0 {}
            return 0
        }
        guard ssh_event_add_session(event, session) == SSH_OK,
              ssh_event_add_fd(event, wakeFD, Int16(POLLIN), drainWakePipe, nil) == SSH_OK
        else {
            throw .connectFailed(host: endpoint.name, address: endpoint.address, reason: "cannot poll the session")
        }
        let counters = UnsafeMutablePointer<ssh_counter_struct>.allocate(capacity: 2)
        counters.initialize(repeating: ssh_counter_struct(), count: 2)
        self.counters = counters
        ssh_set_counters(session, counters, counters + 1)
        linkWatch = LinkWatch()
    }

    // MARK: Channels

    func openChannel(_ target: ChannelTarget, stderrLimit: Int, _ continuation: CheckedContinuation<Int, any Error>) {
        if let endReason { return continuation.resume(throwing: endReason) }
        guard let session, let channel = ssh_channel_new(session) else {
            return continuation.resume(throwing: SSHError.channelOpenFailed(
                host: endpoint.name, target: target.description, reason: "cannot allocate a channel"))
        }
        let id = nextChannelID
        nextChannelID += 1
        channels[id] = ChannelCore(id: id, target: target, host: endpoint.name, channel: channel,
                                   openTimeout: options.channelOpenTimeout, stderrLimit: stderrLimit,
                                   openWaiter: continuation)
    }

    /// The channel with this id, or nil once it is closed (its SSHChannel then reports closed).
    func channel(_ id: Int) -> ChannelCore? { channels[id] }

    func closeChannel(_ id: Int) {
        channels.removeValue(forKey: id)?.close()
    }

    // MARK: The loop's work

    /// Move every channel forward, then check that the link is alive. Returns true when
    /// there may be more to do at once (so the loop should not sleep).
    ///
    /// Why passes: libssh reads the socket inside many calls (a read on one channel can
    /// pull in data for another that was already serviced). Data pulled in that way
    /// wakes no poll, so we go round again until a pass reads nothing new from the socket.
    func service() -> Bool {
        guard let session, endReason == nil else { return false }
        for _ in 0..<8 {
            let heardBefore = counters?[0].in_bytes
            for id in channels.keys.sorted() {
                guard let channel = channels[id] else { continue }
                channel.service()
                if channel.isDisposable { channels[id] = nil }
            }
            if counters?[0].in_bytes == heardBefore {
                checkSession(session)
                // A keepalive call can read the socket too.
                return endReason == nil && counters?[0].in_bytes != heardBefore
            }
        }
        checkSession(session)
        return endReason == nil  // still busy: let queued jobs in, then carry on
    }

    private func checkSession(_ session: ssh_session) {
        let status = ssh_get_status(session)
        if status & (SSH_CLOSED | SSH_CLOSED_ERROR) != 0 {
            return end(.disconnected(host: endpoint.name, reason: LibSSH.lastError(session)), politely: false)
        }
        checkLink(session)
    }

    /// Sleep until the socket or the wake pipe has something, or one tick passes.
    func waitForActivity() {
        if let event {
            _ = ssh_event_dopoll(event, Int32(Self.tick))  // errors show up in `service`'s status check
        } else {
            var descriptor = pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)
            _ = poll(&descriptor, 1, Int32(Self.tick))
            var scratch = [UInt8](repeating: 0, count: 64)
            while read(wakeFD, &scratch, scratch.count) > 0 {}
        }
    }

    /// OpenSSH's ServerAliveInterval/CountMax: after `keepaliveInterval` s without a byte from
    /// the server, ask for a reply (keepalive@openssh.com, which the server must answer);
    /// after `keepaliveCountMax` more intervals of silence, the link is dead.
    private func checkLink(_ session: ssh_session) {
        // Without a way to ask for a reply, silence proves nothing: never call the link dead.
        guard let counters, let keepalive = LibSSH.keepalive else { return }
        let now = ContinuousClock.now
        if counters[0].in_bytes != linkWatch.bytesHeard {
            linkWatch = LinkWatch(bytesHeard: counters[0].in_bytes, lastHeard: now)
            return
        }
        let silence = linkWatch.lastHeard.duration(to: now)
        if silence >= .seconds(options.deadLinkAfter) {
            let seconds = Int(silence.components.seconds)
            return end(.disconnected(host: endpoint.name,
                                     reason: "no answer from \(endpoint.address) for \(seconds) s (keepalive)"), politely: false)
        }
        if silence >= .seconds(options.keepaliveInterval * Double(linkWatch.probesSent + 1)) {
            // libssh sends nothing on a call that only collects the previous request's reply; then call again.
            let packetsBefore = counters[1].out_packets
            _ = keepalive.call(session)
            if counters[1].out_packets == packetsBefore { _ = keepalive.call(session) }
            linkWatch.probesSent += 1
        }
    }

    // MARK: Ending

    /// Closes every channel and the session, and ends the loop.
    func shutdown() {
        end(.disconnected(host: endpoint.name, reason: "session closed"), politely: true)
        isFinished = true
    }

    /// Gives up a session that never finished connecting; nothing more is sent to the server.
    func abandon(_ reason: SSHError) {
        end(reason, politely: false)
        isFinished = true
    }

    /// Fail everything with `reason` and free libssh's resources. `politely`: tell the server
    /// (channel closes, SSH_MSG_DISCONNECT); not on a dead link.
    func end(_ reason: SSHError, politely: Bool) {
        if endReason == nil { endReason = reason }
        if politely {
            for channel in channels.values { channel.close() }
            channels = [:]
        } else {
            // Kept, so that their SSHChannels go on reporting `reason` until closed.
            for channel in channels.values { channel.sessionEnded(reason) }
        }
        if let session {
            if let event {
                ssh_event_remove_session(event, session)
                ssh_event_free(event)
            }
            if politely { ssh_disconnect(session) } else { ssh_silent_disconnect(session) }
            ssh_free(session)
        }
        event = nil
        session = nil
        counters?.deallocate()
        counters = nil
    }
}

/// When the server was last heard from, and how many keepalives went unanswered since.
struct LinkWatch {
    var bytesHeard: UInt64 = 0
    var lastHeard = ContinuousClock.now
    var probesSent = 0
}
