import Foundation
import Shared
import Yams

/// The coordinator's configuration (YAML). Relative paths are taken from the
/// config file's own folder.
///
/// ```yaml
/// knownHosts: ~/.config/coord/known_hosts
/// hostKeyPolicy: strict            # or accept-new: trust and record unknown keys
/// identityFile: ~/.ssh/id_ed25519  # leave out to use ssh-agent
/// user: root
/// connectTimeoutSeconds: 5
/// requestTimeoutSeconds: 30
/// journal: /var/lib/coord/coord.sqlite  # default: $XDG_STATE_HOME/coord/coord.sqlite or ~/.local/state/coord/coord.sqlite
/// store: sqlite                    # or etcd: state shared by a coordinator cluster
/// etcd:                            # with store: etcd
///   endpoints: [http://198.51.100.21:2379, http://198.51.100.22:2379, http://198.51.100.23:2379]
///   prefix: /ferry/
///   leaseSeconds: 5
/// name: c1                         # this coordinator in the cluster (default: hostname)
/// hosts:
///   - name: h1
///     address: 198.51.100.11
///     port: 22
///     agentSocket: /run/ferry/agent.sock
///     transport: streamlocal       # or exec: runs `ferry-agent rpc --stdio` over SSH
///     migrationAddress: 198.51.100.11
/// ```
struct CoordConfig: Codable, Sendable, Equatable {
    enum Transport: String, Codable, Sendable {
        case streamlocal, exec
    }

    struct Host: Codable, Sendable, Equatable {
        var name: String
        var address: String
        var port: Int?
        var user: String?
        var identityFile: String?
        var agentSocket: String?
        var agentCommand: String?
        var transport: Transport?
        var migrationAddress: String?
    }

    var knownHosts: String
    var hostKeyPolicy: HostKeyPolicy?
    var identityFile: String?
    var user: String?
    var connectTimeoutSeconds: Double?
    var requestTimeoutSeconds: Double?
    var hosts: [Host]
    var storagePools: [StoragePoolConfig]?
    /// What the migration network carries, MiB/s: the migration policy's
    /// estimate of the link, and the default bandwidth cap (1000 if unset).
    var migrationLinkMiBps: Double?
    /// The SQLite state store; see `journalPath()` for the default.
    var journal: String?
    /// Where the coordinator's state lives: `sqlite` (the default, one
    /// coordinator) or `etcd` (a coordinator cluster; needs `etcd`).
    var store: Store?
    var etcd: EtcdSettings?
    /// This coordinator's name in a cluster (default: the machine's hostname).
    var name: String?
    /// Set at run time, never read from the file: the epoch this coordinator
    /// leads at, sent with every agent request (see `FenceToken`).
    var fence: FenceToken?

    enum Store: String, Codable, Sendable {
        case sqlite, etcd
    }

    struct EtcdSettings: Codable, Sendable, Equatable {
        /// Client URLs of the etcd members, e.g. http://198.51.100.21:2379.
        var endpoints: [String]
        /// Every key Ferry writes starts with this (default "/ferry/").
        var prefix: String?
        /// The leader's lease: a dead leader is replaced this long after its
        /// last keep-alive (default 5).
        var leaseSeconds: Int?
    }

    private enum CodingKeys: String, CodingKey {
        case knownHosts, hostKeyPolicy, identityFile, user, connectTimeoutSeconds, requestTimeoutSeconds, hosts,
            storagePools, migrationLinkMiBps, journal, store, etcd, name
    }

    static let defaultAgentSocket = "/run/ferry/agent.sock"
    static let defaultAgentCommand = "ferry-agent"

    func host(named name: String) throws -> Host {
        guard let host = hosts.first(where: { $0.name == name }) else {
            throw CoordError.unknownHost(name, known: hosts.map(\.name))
        }
        return host
    }
}

extension CoordConfig {
    static func parse(_ text: String, path: String) throws -> CoordConfig {
        var config: CoordConfig
        do {
            config = try YAMLDecoder().decode(CoordConfig.self, from: text)
        } catch {
            throw CoordError.invalidConfig(path: path, reason: describe(error))
        }
        let base = (path as NSString).deletingLastPathComponent
        config.knownHosts = resolve(config.knownHosts, against: base)
        config.identityFile = config.identityFile.map { resolve($0, against: base) }
        config.journal = config.journal.map { resolve($0, against: base) }
        for index in config.hosts.indices {
            config.hosts[index].identityFile = config.hosts[index].identityFile.map { resolve($0, against: base) }
        }
        try config.validate(path: path)
        return config
    }

    func validate(path: String) throws {
        func fail(_ reason: String) -> CoordError { .invalidConfig(path: path, reason: reason) }
        var seen = Set<String>()
        for host in hosts {
            guard HostName.isValid(host.name) else {
                throw fail("host name '\(host.name)' must be 1-63 letters, digits, '-', '_' or '.'")
            }
            guard seen.insert(host.name).inserted else { throw fail("host '\(host.name)' is listed twice") }
            guard !host.address.isEmpty else { throw fail("host '\(host.name)' has no address") }
            if let port = host.port, !(1...65535).contains(port) {
                throw fail("host '\(host.name)' has port \(port), outside 1-65535")
            }
            if let socket = host.agentSocket, !socket.hasPrefix("/") {
                throw fail("host '\(host.name)': agentSocket '\(socket)' must be an absolute path")
            }
        }
        if let link = migrationLinkMiBps, !(link > 0 && link <= 1_000_000) {
            throw fail("migrationLinkMiBps must be above 0 and at most 1000000")
        }
        if store == .etcd {
            guard let etcd, !etcd.endpoints.isEmpty else { throw fail("store: etcd needs etcd.endpoints (e.g. [http://10.0.0.5:2379])") }
            for endpoint in etcd.endpoints where !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")) {
                throw fail("etcd endpoint '\(endpoint)' must start with http:// or https://")
            }
            if let lease = etcd.leaseSeconds, !(2...300).contains(lease) { throw fail("etcd.leaseSeconds must be 2-300") }
            if let prefix = etcd.prefix, !prefix.hasPrefix("/") { throw fail("etcd.prefix '\(prefix)' must start with /") }
        }
        if let name, !HostName.isValid(name) { throw fail("name '\(name)' must be 1-63 letters, digits, '-', '_' or '.'") }
        for (name, value) in [("connectTimeoutSeconds", connectTimeoutSeconds), ("requestTimeoutSeconds", requestTimeoutSeconds)] {
            if let value, !(value > 0 && value <= 3600) { throw fail("\(name) must be between 0 and 3600 seconds") }
        }
    }

    private static func resolve(_ path: String, against base: String) -> String {
        if path.hasPrefix("~/") { return NSHomeDirectory() + path.dropFirst(1) }
        if path.hasPrefix("/") || base.isEmpty { return path }
        return (base as NSString).appendingPathComponent(path)
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            "missing '\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
            DecodingError.dataCorrupted(let context):
            "'\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)"
        default:
            "\(error)"
        }
    }
}
