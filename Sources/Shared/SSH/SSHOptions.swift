/// What to do with a host key that known_hosts does not list yet. A key that
/// differs from the listed one is refused under every policy.
public enum HostKeyPolicy: String, Codable, Sendable {
    /// Refuse hosts that known_hosts does not list (OpenSSH `StrictHostKeyChecking=yes`).
    case strict
    /// Add unlisted hosts' keys to known_hosts (OpenSSH `StrictHostKeyChecking=accept-new`).
    case acceptNew = "accept-new"
}

/// How a session connects, authenticates and watches its link.
public struct SSHOptions: Sendable {
    /// The only known_hosts file consulted; the system-wide one and ~/.ssh/config are ignored
    /// so that behaviour does not depend on who runs coord.
    public var knownHostsPath: String
    public var hostKeyPolicy: HostKeyPolicy
    /// Private key to authenticate with (unencrypted). nil: use ssh-agent.
    public var identityFile: String?
    /// ssh-agent socket when `identityFile` is nil. nil: `$SSH_AUTH_SOCK`.
    public var agentSocket: String?
    /// Bound, in seconds, on TCP connect + key exchange + authentication together.
    public var connectTimeout: Double
    /// Bound, in seconds, on opening one channel (and starting its command).
    public var channelOpenTimeout: Double
    /// After this many seconds without a byte from the server, send a keepalive.
    public var keepaliveInterval: Double
    /// Unanswered keepalives before the link is declared dead. A dead link fails every
    /// pending and later read, write and open with `SSHError.disconnected` after
    /// about `keepaliveInterval * (keepaliveCountMax + 1)` seconds of silence
    /// (plus at most one loop tick, 0.5 s).
    public var keepaliveCountMax: Int

    public init(
        knownHostsPath: String,
        hostKeyPolicy: HostKeyPolicy = .strict,
        identityFile: String? = nil,
        agentSocket: String? = nil,
        connectTimeout: Double = 10,
        channelOpenTimeout: Double = 10,
        keepaliveInterval: Double = 5,
        keepaliveCountMax: Int = 3
    ) {
        self.knownHostsPath = knownHostsPath
        self.hostKeyPolicy = hostKeyPolicy
        self.identityFile = identityFile
        self.agentSocket = agentSocket
        self.connectTimeout = connectTimeout
        self.channelOpenTimeout = channelOpenTimeout
        self.keepaliveInterval = keepaliveInterval
        self.keepaliveCountMax = keepaliveCountMax
    }

    /// Seconds of silence after which a link counts as dead.
    public var deadLinkAfter: Double { keepaliveInterval * Double(keepaliveCountMax + 1) }
}
