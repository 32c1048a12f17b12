import Foundation

/// QMP's wire format: one JSON object per line in each direction.
/// - greeting: `{"QMP": {"version": {...}, "capabilities": [...]}}`
/// - command:  `{"execute": "query-status", "arguments": {...}, "id": 3}`
/// - reply:    `{"return": ..., "id": 3}` or `{"error": {"class": ..., "desc": ...}, "id": 3}`
/// - event:    `{"event": "STOP", "data": {...}, "timestamp": {"seconds": ..., "microseconds": ...}}`
enum QMPWire {
    /// QMP has no line limit and some replies (`query-qmp-schema`,
    /// `query-cpu-definitions`) run to hundreds of KiB, so this is only a
    /// guard against a runaway peer, far above any real reply.
    static let maxLineBytes = 256 << 20

    struct Command<Arguments: Encodable>: Encodable {
        var execute: String
        var arguments: Arguments?
        var id: UInt64
    }

    /// Encodes a command as one line, newline included.
    static func line<Arguments: Encodable>(_ name: String, arguments: Arguments, id: UInt64) throws -> [UInt8] {
        try encode(Command(execute: name, arguments: arguments, id: id))
    }

    static func line(_ name: String, id: UInt64) throws -> [UInt8] {
        try encode(Command<QMP.Empty>(execute: name, arguments: nil, id: id))
    }

    private static func encode(_ command: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var bytes = [UInt8](try encoder.encode(command))
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    /// What an inbound line is, read without decoding its (possibly huge) payload.
    enum Kind: Equatable {
        case greeting
        case reply(id: UInt64?)
        case event
    }

    static func kind(of line: [UInt8]) throws -> Kind {
        let header = try JSONDecoder().decode(Header.self, from: Data(line))
        if header.isGreeting { return .greeting }
        if header.isEvent { return .event }
        if header.isReply { return .reply(id: header.id) }
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "neither greeting, reply nor event"))
    }

    private struct Header: Decodable {
        var id: UInt64?
        var isGreeting: Bool
        var isEvent: Bool
        var isReply: Bool

        enum CodingKeys: String, CodingKey {
            case id, event, error
            case greeting = "QMP"
            case result = "return"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            // We only send numeric ids; anything else is not ours to match.
            id = try? container.decodeIfPresent(UInt64.self, forKey: .id)
            isGreeting = container.contains(.greeting)
            isEvent = container.contains(.event)
            isReply = container.contains(.result) || container.contains(.error)
        }
    }

    /// A reply, decoded once we know which command (and so which type) it answers.
    struct Reply<Result: Decodable>: Decodable {
        var result: Result?
        var error: ErrorBody?

        enum CodingKeys: String, CodingKey {
            case error
            case result = "return"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            error = try container.decodeIfPresent(ErrorBody.self, forKey: .error)
            result = error == nil ? try container.decode(Result.self, forKey: .result) : nil
        }
    }

    struct ErrorBody: Decodable {
        var errorClass: QMP.ErrorClass
        var desc: String

        enum CodingKeys: String, CodingKey {
            case desc
            case errorClass = "class"
        }
    }

    struct GreetingLine: Decodable {
        var greeting: QMP.Greeting
        enum CodingKeys: String, CodingKey { case greeting = "QMP" }
    }
}

extension QMP {
    /// What QEMU says first on a QMP connection.
    public struct Greeting: Codable, Sendable, Equatable {
        public var version: Version
        /// Protocol capabilities QEMU offers, e.g. `oob`.
        public var capabilities: [String]
    }

    /// `query-version`, and the version in the greeting.
    public struct Version: Codable, Sendable, Equatable, CustomStringConvertible {
        public struct Triple: Codable, Sendable, Equatable, Comparable {
            public var major: Int
            public var minor: Int
            public var micro: Int

            public static func < (lhs: Triple, rhs: Triple) -> Bool {
                (lhs.major, lhs.minor, lhs.micro) < (rhs.major, rhs.minor, rhs.micro)
            }
        }

        public var qemu: Triple
        /// The distributor's package string, e.g. `Debian 1:7.2+dfsg-7+deb12u18`.
        public var package: String

        public var description: String { "\(qemu.major).\(qemu.minor).\(qemu.micro)" }
    }

    /// A command that takes no arguments and returns `{}`.
    public struct Empty: Codable, Sendable, Equatable {
        public init() {}
    }
}
