import Foundation

/// A file with a random name and content, written by one host and read back
/// by another: if the target reads the source's token, both see the same
/// storage (DESIGN: "every disk is on storage the target sees as the same").
public struct StorageToken: Codable, Sendable, Equatable {
    public var name: String
    public var content: String

    public init(name: String, content: String) {
        self.name = name
        self.content = content
    }

    public static func random(writer: String) -> StorageToken {
        var generator = SystemRandomNumberGenerator()
        func hex(_ count: Int) -> String {
            (0..<count).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        }
        return StorageToken(name: "token-\(hex(16))", content: "ferry token \(hex(32)) from \(writer)\n")
    }

    /// Names come from other hosts: only a plain file name, never a path.
    public static func isValidName(_ name: String) -> Bool {
        (1...100).contains(name.count) && !name.hasPrefix(".")
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
    }
}
