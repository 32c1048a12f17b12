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
