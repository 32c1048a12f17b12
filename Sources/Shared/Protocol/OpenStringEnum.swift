/// A set of string values that stays open: a peer running a newer version can
/// send a value this one does not know, and it still decodes (as itself).
/// Error codes and event topics are such sets.
public protocol OpenStringEnum: RawRepresentable, Codable, Sendable, Hashable where RawValue == String {
    init(rawValue: String)
}

extension OpenStringEnum {
    public init(from decoder: Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
