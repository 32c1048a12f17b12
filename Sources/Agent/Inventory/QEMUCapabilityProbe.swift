import Foundation
import Shared

/// Asks QEMU what it can do on this host: its version, machine types, and
/// which CPU models are runnable under the chosen accelerator.
///
/// A short-lived QEMU with no machine answers a fixed script of QMP commands
/// on stdin and quits; nothing else runs, so no socket is needed.
struct QEMUCapabilityProbe: Sendable {
    var qemuBinary: String
    var accelerator: AcceleratorStatus.Kind

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

    func run() async throws -> QEMUInventory {
        let script = [
            #"{"execute":"qmp_capabilities","id":"caps"}"#,
            #"{"execute":"query-version","id":"version"}"#,
            #"{"execute":"query-machines","id":"machines"}"#,
            #"{"execute":"query-cpu-definitions","id":"cpus"}"#,
            #"{"execute":"quit","id":"quit"}"#,
        ].joined(separator: "\n") + "\n"
        let output = try await ProcessRunner.run(
            qemuBinary,
            ["-machine", "none", "-accel", accelerator == .kvm ? "kvm" : "tcg", "-nodefaults", "-display", "none", "-qmp", "stdio"],
            stdin: Array(script.utf8), timeout: 30, dieWithParent: true)
        if output.timedOut { throw ProbeError.qemuFailed("no answer within 30 s") }
        let answers = Self.answers(in: output.stdout)
        guard !answers.isEmpty else {
            throw ProbeError.qemuFailed(output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return try Self.inventory(binary: qemuBinary, answers: answers)
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
