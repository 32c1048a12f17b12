import Foundation

/// Finds the coordinator's config the way DESIGN.md promises: `--config`,
/// then `$COORD_CONFIG`, then `~/.config/coord/coord.yaml`, then
/// `/etc/coord/coord.yaml`.
struct ConfigLocator {
    var explicit: String?
    var environment: [String: String] = ProcessInfo.processInfo.environment
    var home: String = NSHomeDirectory()
    var exists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }

    var candidates: [String] {
        [home + "/.config/coord/coord.yaml", "/etc/coord/coord.yaml"]
    }

    func locate() throws -> String {
        if let explicit {
            guard exists(explicit) else { throw CoordError.configNotFound(searched: [explicit]) }
            return explicit
        }
        if let fromEnvironment = environment["COORD_CONFIG"], !fromEnvironment.isEmpty {
            guard exists(fromEnvironment) else { throw CoordError.configNotFound(searched: ["$COORD_CONFIG=\(fromEnvironment)"]) }
            return fromEnvironment
        }
        guard let found = candidates.first(where: exists) else { throw CoordError.configNotFound(searched: candidates) }
        return found
    }

    func load() throws -> CoordConfig {
        let path = try locate()
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CoordError.invalidConfig(path: path, reason: error.localizedDescription)
        }
        return try CoordConfig.parse(text, path: path)
    }
}
