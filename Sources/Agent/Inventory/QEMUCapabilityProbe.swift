import Foundation
import Shared

/// Asks QEMU what it can do on this host: its version, machine types, and
/// which CPU models are runnable under the chosen accelerator and the
/// configured CPU level (CPULevel), and each runnable model's features.
///
/// A short-lived QEMU with no machine answers a fixed script of QMP commands
/// on stdin and quits; nothing else runs, so no socket is needed.
struct QEMUCapabilityProbe: Sendable {
    var qemuBinary: String
    var accelerator: AcceleratorStatus.Kind
    /// Masks CPU models by this level (AgentConfig.cpuLevel); nil for none.
    var cpuLevel: String? = nil

    enum ProbeError: Error, CustomStringConvertible {
        case qemuFailed(String)
        case missingAnswer(String)

        var description: String {
            switch self {
            case .qemuFailed(let reason): "qemu did not answer: \(reason)"
            case .missingAnswer(let command): "qemu gave no answer to \(command)"
            }
        }
    }

    /// What the probe learned; `problem` is set when QEMU answered but the
    /// CPU level could not be applied (the inventory then runs no model).
    struct Result: Sendable {
        var inventory: QEMUInventory
        var problem: String?
        /// Why models carry no feature lists (the expansion run failed).
        var warning: String?
    }

    /// Two short QEMU runs: the first lists the models, the second expands
    /// each of them into its features (for the CPU level and for baselines).
    func run() async throws -> Result {
        let answers = try await ask([
            #"{"execute":"query-version","id":"version"}"#,
            #"{"execute":"query-machines","id":"machines"}"#,
            #"{"execute":"query-cpu-definitions","id":"cpus"}"#,
        ])
        var inventory = try Self.inventory(binary: qemuBinary, answers: answers)
        let names = inventory.cpuModels.map(\.name)
        var features: [String: [String]] = [:]
        var warning: String?
        do {
            features = Self.expansions(in: try await ask(try Self.expansionScript(names)), names: names)
        } catch {
            // Without a level only baselines miss the features; with one, CPULevel fails closed.
            warning = "CPU model expansion failed: \(error)"
        }
        let masked = CPULevel.apply(level: cpuLevel, to: inventory.cpuModels, features: features, qemuVersion: inventory.version)
        inventory.cpuModels = masked.models
        inventory.cpuLevel = cpuLevel
        return Result(inventory: inventory, problem: masked.problem, warning: warning)
    }

    /// Runs QEMU with `commands` on stdin (between the handshake and quit)
    /// and returns its replies by id.
    private func ask(_ commands: [String]) async throws -> [String: Data] {
        let script = ([#"{"execute":"qmp_capabilities","id":"caps"}"#] + commands + [#"{"execute":"quit","id":"quit"}"#])
            .joined(separator: "\n") + "\n"
        let output = try await ProcessRunner.run(
            qemuBinary,
            ["-machine", "none", "-accel", accelerator == .kvm ? "kvm" : "tcg", "-nodefaults", "-display", "none", "-qmp", "stdio"],
            stdin: Array(script.utf8), timeout: 30, dieWithParent: true)
        if output.timedOut { throw ProbeError.qemuFailed("no answer within 30 s") }
        let answers = Self.answers(in: output.stdout)
        guard !answers.isEmpty else {
            throw ProbeError.qemuFailed(output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return answers
    }

    /// One static expansion per model, its id the model's index.
    static func expansionScript(_ names: [String]) throws -> [String] {
        struct Command: Encodable {
            var execute = "query-cpu-model-expansion"
            var arguments: QMP.CPUModelExpansionArguments
            var id: String
        }
        let encoder = JSONEncoder()
        return try names.enumerated().map { index, name in
            let command = Command(arguments: .init(type: .static, model: .init(name: name)), id: "expand-\(index)")
            return String(decoding: try encoder.encode(command), as: UTF8.self)
        }
    }

    /// Each model's enabled features; models QEMU refused to expand are left out.
    static func expansions(in answers: [String: Data], names: [String]) -> [String: [String]] {
        struct Answer: Decodable { var `return`: QMP.CPUModelExpansionInfo }
        var features: [String: [String]] = [:]
        for (index, name) in names.enumerated() {
            guard let data = answers["expand-\(index)"], let answer = try? JSONDecoder().decode(Answer.self, from: data) else { continue }
            features[name] = answer.return.model.enabledFeatures
        }
        return features
    }

    /// QMP replies by id; events and the greeting carry no id and are skipped.
    static func answers(in stdout: [UInt8]) -> [String: Data] {
        struct Reply: Decodable { var id: String? }
        var answers: [String: Data] = [:]
        for line in stdout.split(separator: UInt8(ascii: "\n")) {
            let data = Data(line)
            if let id = (try? JSONDecoder().decode(Reply.self, from: data))?.id { answers[id] = data }
        }
        return answers
    }

    static func inventory(binary: String, answers: [String: Data]) throws -> QEMUInventory {
        struct Answer<T: Decodable>: Decodable { var `return`: T }
        struct Version: Decodable {
            struct Numbers: Decodable { var major: Int; var minor: Int; var micro: Int }
            var qemu: Numbers
        }
        struct Machine: Decodable {
            var name: String
            var alias: String?
            var isDefault: Bool?
            enum CodingKeys: String, CodingKey { case name, alias, isDefault = "is-default" }
        }
        struct Definition: Decodable {
            var name: String
            var unavailableFeatures: [String]?
            var migrationSafe: Bool?
            enum CodingKeys: String, CodingKey {
                case name, unavailableFeatures = "unavailable-features", migrationSafe = "migration-safe"
            }
        }
        func decode<T: Decodable>(_ id: String, as: T.Type) throws -> T {
            guard let data = answers[id], let answer = try? JSONDecoder().decode(Answer<T>.self, from: data) else {
                throw ProbeError.missingAnswer(id)
            }
            return answer.return
        }
        let version = try decode("version", as: Version.self).qemu
        let machines = try decode("machines", as: [Machine].self)
            .map { MachineType(name: $0.name, alias: $0.alias, isDefault: $0.isDefault ?? false) }
            .sorted { $0.name < $1.name }
        let models = try decode("cpus", as: [Definition].self)
            .map { CPUModel(name: $0.name, unavailableFeatures: $0.unavailableFeatures ?? [], migrationSafe: $0.migrationSafe) }
            .sorted { $0.name < $1.name }
        return QEMUInventory(
            binary: binary, version: "\(version.major).\(version.minor).\(version.micro)",
            machineTypes: machines, cpuModels: models)
    }
}
