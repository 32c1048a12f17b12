/// One SSH connection to a cluster host, carrying any number of channels at once.
///
/// All libssh work for the session happens on its own thread (see `SessionLoop`);
/// these methods only hand requests to it and await the answers, so they may be
/// called from any task, concurrently. The session ends on `close()`, when it is
/// released, or when its link dies (see `SSHOptions.keepaliveInterval`).
///
/// Decisions worth knowing:
/// - Connecting (TCP, key exchange, host-key check, authentication) runs in libssh's
///   blocking mode on the session thread, each step bounded by the time left of
///   `connectTimeout`; name resolution (getaddrinfo) is not bounded by it.
/// - known_hosts is looked up by `address` (`[address]:port` off port 22), as OpenSSH
///   does; only `knownHostsPath` counts, and ssh config files are not read.
/// - A refused host key ends the connection without a word: no user name, no key and
///   no disconnect message reaches that server.
/// - After connecting, the session is non-blocking; the thread sleeps in
///   `ssh_event_dopoll` for at most 0.5 s at a time. A write returns once libssh holds
///   all its bytes, which the peer's SSH window bounds (no unbounded buffering).
/// - A dead link (no byte from the server, keepalives unanswered) fails everything with
///   `SSHError.disconnected` after `SSHOptions.deadLinkAfter` seconds (+ 0.5 s).
/// - One thread per session: fine for a cluster of hundreds of hosts.
/// - Cancelling a task does not end its pending read; close the channel for that.
public final class SSHSession: Sendable {
    public let endpoint: SSHEndpoint
    /// The server's host key, "SHA256:…" as `ssh-keygen -l` prints it.
    public let hostKeyFingerprint: String
    let loop: SessionLoop

    private init(endpoint: SSHEndpoint, hostKeyFingerprint: String, loop: SessionLoop) {
        self.endpoint = endpoint
        self.hostKeyFingerprint = hostKeyFingerprint
        self.loop = loop
    }

    deinit {
        loop.submit { core in core?.shutdown() }
    }

    /// Connects, checks the host key against `options.knownHostsPath` (before anything
    /// else is sent) and authenticates, all within `options.connectTimeout`.
    public static func connect(to endpoint: SSHEndpoint, options: SSHOptions) async throws(SSHError) -> SSHSession {
        let loop = SessionLoop(endpoint: endpoint, options: options)
        do {
            let fingerprint: String = try await loop.perform { core, continuation in
                guard let core else { return continuation.resume(throwing: SSHError.disconnected(host: endpoint.name, reason: "session ended")) }
                do throws(SSHError) {
                    continuation.resume(returning: try core.connect())
                } catch {
                    core.abandon(error)
                    continuation.resume(throwing: error)
                }
            }
            return SSHSession(endpoint: endpoint, hostKeyFingerprint: fingerprint, loop: loop)
        } catch let error as SSHError {
            throw error
        } catch {
            throw .connectFailed(host: endpoint.name, address: endpoint.address, reason: "\(error)")  // not reached
        }
    }

    /// A channel to a Unix socket on the host (OpenSSH direct-streamlocal@openssh.com;
    /// the server must allow it with `AllowStreamLocalForwarding`).
    public func openStreamLocal(socketPath: String) async throws -> SSHChannel {
        try await open(.unixSocket(path: socketPath), stderrLimit: 0)
    }

    /// A channel running `command`: its stdin and stdout are the stream; the newest
    /// `stderrLimit` bytes of its stderr are kept for `SSHChannel.stderrOutput()`.
    public func openExec(_ command: String, stderrLimit: Int = 64 * 1024) async throws -> SSHChannel {
        try await open(.exec(command: command), stderrLimit: stderrLimit)
    }

    /// Runs `command` to the end, feeding it `stdin`, and returns its exit status and output.
    public func run(_ command: String, stdin: [UInt8] = []) async throws -> (status: Int32, stdout: [UInt8], stderr: [UInt8]) {
        let channel = try await openExec(command, stderrLimit: 64 << 20)
        do {
            // Feed stdin while reading stdout, so a command that echoes much cannot deadlock us.
            async let fed: Void = { try await channel.write(stdin); try await channel.sendEOF() }()
            var stdout: [UInt8] = []
            while let chunk = try await channel.read() { stdout += chunk }
            try? await fed  // a command may exit without reading its stdin
            let status = try await channel.exitStatus()
            let stderr = await channel.stderrOutput()
            await channel.close()
            return (status, stdout, stderr)
        } catch {
            await channel.close()
            throw error
        }
    }

    /// Closes every channel and the connection. Safe to call more than once.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.submit { core in
                core?.shutdown()
                continuation.resume()
            }
        }
    }

    private func open(_ target: ChannelTarget, stderrLimit: Int) async throws -> SSHChannel {
        let host = endpoint.name
        let id: Int = try await loop.perform { core, continuation in
            guard let core else { return continuation.resume(throwing: SSHError.disconnected(host: host, reason: "session closed")) }
            core.openChannel(target, stderrLimit: stderrLimit, continuation)
        }
        return SSHChannel(session: self, id: id, target: target)
    }
}
