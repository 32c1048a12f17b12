/// Namespace for the QEMU Machine Protocol's types, so that names such as
/// `QMP.MigrationStatus` or `QMP.RunState` never collide with Ferry's own
/// migration and VM state types elsewhere in `Shared`.
public enum QMP {}

/// A QMP enumeration that decodes values it does not know as `.unknown`
/// instead of failing, so a newer QEMU cannot break a whole reply by adding
/// one value.
public protocol QMPLenientEnum: RawRepresentable, Codable, Sendable, Hashable where RawValue == String {
    static var unknown: Self { get }
}

extension QMPLenientEnum {
    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        self = Self(rawValue: name) ?? .unknown
    }
}
