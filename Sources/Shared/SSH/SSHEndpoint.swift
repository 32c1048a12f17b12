/// Where one cluster host's sshd listens, and who we log in as.
public struct SSHEndpoint: Sendable, Hashable, Codable {
    /// The host's name in the cluster; used in every error message.
    public var name: String
    /// IP address or DNS name to connect to. known_hosts is looked up by this
    /// (as `address`, or `[address]:port` when the port is not 22).
    public var address: String
    public var port: Int
    public var user: String

    public init(name: String, address: String, port: Int = 22, user: String = "root") {
        self.name = name
        self.address = address
        self.port = port
        self.user = user
    }

    /// How OpenSSH and libssh name this endpoint in known_hosts.
    public var knownHostsName: String {
        port == 22 ? address : "[\(address)]:\(port)"
    }
}
