import Foundation
import Shared
import Testing

/// The lab the integration tests run in: real network namespaces, sshd,
/// agents and NFS, brought up by `scripts/lab` (once per test process, and
/// only if `scripts/test` has not done it already).
actor Lab {
    static let shared = Lab()

    nonisolated let root: String
    nonisolated let labDir: String
    nonisolated let binDir: String
    nonisolated let hostCount = 3
    private var upTask: Task<Void, any Error>?

    init() {
        let environment = ProcessInfo.processInfo.environment
        // Tests/IntegrationTests/Lab.swift -> repository root.
        root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        labDir = environment["FERRY_LAB_DIR"] ?? root + "/.lab"
        binDir = environment["FERRY_BIN_DIR"] ?? root + "/.build/debug"
    }

    nonisolated var configPath: String { labDir + "/coord.yaml" }
    nonisolated func hostDir(_ host: String) -> String { labDir + "/hosts/" + host }
    nonisolated var hostNames: [String] { (1...hostCount).map { "h\($0)" } }

    /// Brings the lab up once; later calls wait for the same attempt.
    func up() async throws {
        if upTask == nil {
            upTask = Task {
                let out = try await run(root + "/scripts/lab", ["up", "--hosts", "\(hostCount)"], timeout: 600)
                guard out.status == 0 else { throw LabFailure("scripts/lab up failed:\n\(out.stdoutText)\n\(out.stderrText)") }
            }
        }
        try await upTask!.value
    }

    nonisolated func lab(_ arguments: String...) async throws -> ProcessRunner.Output {
        let out = try await run(root + "/scripts/lab", arguments, timeout: 300)
        guard out.status == 0 else { throw LabFailure("scripts/lab \(arguments.joined(separator: " ")) failed:\n\(out.stderrText)") }
        return out
    }

    /// Runs `coord` with the lab's config (or another one).
    nonisolated func coord(_ arguments: [String], config: String? = nil, timeout: Double = 300) async throws -> ProcessRunner.Output {
        try await run(binDir + "/coord", ["--config", config ?? configPath] + arguments, timeout: timeout)
    }

    nonisolated func run(_ executable: String, _ arguments: [String], timeout: Double) async throws -> ProcessRunner.Output {
        try await ProcessRunner.run(executable, arguments, timeout: timeout)
    }

    /// A coordinator config for the lab's hosts with some settings changed,
    /// written to a fresh folder under the lab's (cleared by `scripts/lab down`).
    nonisolated func writeConfig(
        knownHosts: String, policy: String = "strict", transport: String = "streamlocal", connectTimeout: Double = 5
    ) throws -> String {
        let dir = labDir + "/specs/tests/config-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var yaml = """
            knownHosts: \(knownHosts)
            hostKeyPolicy: \(policy)
            identityFile: \(labDir)/ssh/id_ed25519
            user: root
            connectTimeoutSeconds: \(connectTimeout)
            hosts:

            """
        for (index, name) in hostNames.enumerated() {
            yaml += """
                  - name: \(name)
                    address: 198.51.100.\(11 + index)
                    agentSocket: \(hostDir(name))/run/agent.sock
                    transport: \(transport)
                    agentCommand: \(binDir)/ferry-agent

                """
        }
        let path = dir + "/coord.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

struct LabFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The JSON `coord hosts --json` prints (docs/json.md).
struct HostsOutput: Decodable {
    struct Host: Decodable {
        var name: String
        var address: String
        var state: String
        var reason: String?
        var inventory: HostInventory?
    }

    var hosts: [Host]

    subscript(name: String) -> Host? { hosts.first { $0.name == name } }

    static func parse(_ out: ProcessRunner.Output) throws -> HostsOutput {
        do {
            return try AgentProtocol.decoder().decode(HostsOutput.self, from: Data(out.stdout))
        } catch {
            throw LabFailure("coord hosts --json printed something unreadable (\(error)):\n\(out.stdoutText)\n\(out.stderrText)")
        }
    }
}
