import Foundation
import Shared
import Yams

/// The agent's configuration file (YAML), `/etc/ferry/agent.yaml` by default.
///
/// ```yaml
/// name: h1                          # host name in the cluster (default: the system's)
/// socket: /run/ferry/agent.sock     # root-only Unix socket; the agent opens no TCP port
/// stateDir: /var/lib/ferry          # VM state and probe results
/// qemuBinary: qemu-system-x86_64
/// accelerator: auto                 # auto (probe), kvm or tcg
/// memoryMiB: 4096                   # optional: offer guests at most this much
/// migrationAddress: 198.51.100.11   # where incoming migrations listen
/// cpuLevel: Westmere                # optional: play this QEMU CPU model (see below)
/// storagePools:
///   - {name: shared, kind: nfs, url: "nfs://198.51.100.2/ferry"}
/// ```
///
/// `cpuLevel` hides the host's features beyond one QEMU CPU model, as
/// oVirt's cluster CPU type and VMware's EVC do: a model counts as runnable
/// only if this host runs it and all its features are in the level model.
/// A level QEMU does not know makes every model unrunnable and sets the
/// inventory's `qemuError` (the agent keeps serving, so the reason shows in
/// `coord hosts`; nothing can start there until the name is fixed).
struct AgentConfig: Codable, Sendable, Equatable {
    enum AcceleratorChoice: String, Codable, Sendable {
        case auto, kvm, tcg
    }

    var name: String
    var socket: String
    var stateDir: String
    var qemuBinary: String
    var accelerator: AcceleratorChoice
    var memoryMiB: UInt64?
    var migrationAddress: String?
    var cpuLevel: String?
    var storagePools: [StoragePoolConfig]

    static let defaultPath = "/etc/ferry/agent.yaml"

    init(
        name: String = ProcessInfo.processInfo.hostName, socket: String = "/run/ferry/agent.sock",
        stateDir: String = "/var/lib/ferry", qemuBinary: String = "qemu-system-x86_64",
        accelerator: AcceleratorChoice = .auto, memoryMiB: UInt64? = nil, migrationAddress: String? = nil,
        cpuLevel: String? = nil, storagePools: [StoragePoolConfig] = []
    ) {
        self.name = name
        self.socket = socket
        self.stateDir = stateDir
        self.qemuBinary = qemuBinary
        self.accelerator = accelerator
        self.memoryMiB = memoryMiB
        self.migrationAddress = migrationAddress
        self.cpuLevel = cpuLevel
        self.storagePools = storagePools
    }

    init(from decoder: Decoder) throws {
        let defaults = AgentConfig()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? defaults.name
        socket = try c.decodeIfPresent(String.self, forKey: .socket) ?? defaults.socket
        stateDir = try c.decodeIfPresent(String.self, forKey: .stateDir) ?? defaults.stateDir
        qemuBinary = try c.decodeIfPresent(String.self, forKey: .qemuBinary) ?? defaults.qemuBinary
        accelerator = try c.decodeIfPresent(AcceleratorChoice.self, forKey: .accelerator) ?? defaults.accelerator
        memoryMiB = try c.decodeIfPresent(UInt64.self, forKey: .memoryMiB)
        migrationAddress = try c.decodeIfPresent(String.self, forKey: .migrationAddress)
        cpuLevel = try c.decodeIfPresent(String.self, forKey: .cpuLevel)
        storagePools = try c.decodeIfPresent([StoragePoolConfig].self, forKey: .storagePools) ?? []
    }

    /// Reads and checks a config file; a missing default file means defaults.
    static func load(path: String?) throws -> AgentConfig {
        let chosen = path ?? defaultPath
        guard FileManager.default.fileExists(atPath: chosen) else {
            if path == nil { return AgentConfig() }
            throw ConfigError.unreadable(path: chosen, reason: "no such file")
        }
        let text: String
        do {
            text = try String(contentsOfFile: chosen, encoding: .utf8)
        } catch {
            throw ConfigError.unreadable(path: chosen, reason: error.localizedDescription)
        }
        let config: AgentConfig
        do {
            config = try YAMLDecoder().decode(AgentConfig.self, from: text)
        } catch {
            throw ConfigError.invalid(path: chosen, reason: "\(error)")
        }
        try config.validate(path: chosen)
        return config
    }

    func validate(path: String) throws {
        guard HostName.isValid(name) else {
            throw ConfigError.invalid(path: path, reason: "name '\(name)' must be 1-63 letters, digits, '-', '_' or '.'")
        }
        guard socket.hasPrefix("/") else {
            throw ConfigError.invalid(path: path, reason: "socket '\(socket)' must be an absolute path")
        }
        guard stateDir.hasPrefix("/") else {
            throw ConfigError.invalid(path: path, reason: "stateDir '\(stateDir)' must be an absolute path")
        }
        if let memoryMiB, memoryMiB == 0 {
            throw ConfigError.invalid(path: path, reason: "memoryMiB must be positive")
        }
        if let cpuLevel, let problem = CPULevel.problem(cpuLevel) {
            throw ConfigError.invalid(path: path, reason: problem)
        }
    }
}

enum ConfigError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case invalid(path: String, reason: String)

    var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read config \(path): \(reason)"
        case .invalid(let path, let reason): "invalid config \(path): \(reason)"
        }
    }
}
