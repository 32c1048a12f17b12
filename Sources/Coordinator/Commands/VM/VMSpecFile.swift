import Foundation
import Shared
import Yams

/// Reads and checks a VM spec file; nothing is sent anywhere until it passes.
enum VMSpecFile {
    static func load(_ path: String) throws -> VMSpec {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CoordError.invalidSpec(path: path, problems: ["cannot read it: \(error.localizedDescription)"])
        }
        let spec: VMSpec
        do {
            spec = try YAMLDecoder().decode(VMSpec.self, from: text)
        } catch let DecodingError.keyNotFound(key, context) {
            throw CoordError.invalidSpec(path: path, problems: ["missing \((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))"])
        } catch let DecodingError.dataCorrupted(context) {
            throw CoordError.invalidSpec(path: path, problems: ["\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"])
        } catch let DecodingError.typeMismatch(_, context) {
            throw CoordError.invalidSpec(path: path, problems: ["\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"])
        } catch {
            throw CoordError.invalidSpec(path: path, problems: ["not a VM spec: \(error)"])
        }
        let problems = spec.problems()
        guard problems.isEmpty else { throw CoordError.invalidSpec(path: path, problems: problems.map(\.description)) }
        return spec
    }

    /// Warnings about specs that work but invite trouble later.
    static func warnings(for spec: VMSpec) -> [String] {
        var warnings: [String] = []
        if spec.memory.bytes % (256 << 10) == 0 {
            warnings.append(
                "memory \(spec.memory) is a multiple of 256 KiB: under TCG, QEMU before 9.0 can lose dirty pages in live "
                    + "pre-copy migration at this size (see LAB-FACTS.md); a size such as \(MemorySize(bytes: spec.memory.bytes - 8192)) avoids it")
        }
        return warnings
    }
}
