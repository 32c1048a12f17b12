import Foundation
import Shared

/// `--json` output: stable keys (sorted), ISO 8601 dates, one document per
/// command, documented in docs/json.md.
enum JSONOutput {
    static func print<T: Encodable>(_ value: T) throws {
        let encoder = AgentProtocol.encoder()
        encoder.outputFormatting.insert(.prettyPrinted)
        Swift.print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}
