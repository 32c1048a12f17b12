import Foundation

/// Wire format of the agent protocol.
///
/// Each message is one line of JSON ended by `\n`.
/// - request:  `{"id":7,"method":"inventory","params":{}}`, plus
///   `"fence":{"epoch":12,"coordinator":"c1"}` from a coordinator cluster's
///   leader (see `FenceToken`)
/// - response: `{"id":7,"result":{...}}` or `{"id":7,"error":{"code":"…","message":"…"}}`
///   (`id` is null when the request was too broken to read its id)
/// - event:    `{"event":"vm.state","data":{...}}`, pushed after `subscribe`
///
/// The first request on a connection must be `hello`; the agent answers
/// anything else with `handshakeRequired`.
public enum AgentProtocol {
    public static let version = 1
    /// Longest line either side accepts; longer ones are answered with
    /// `messageTooLarge` and skipped up to the next newline.
    public static let maxMessageBytes = 4 << 20

    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }

    /// Encodes a message as one protocol line, newline included.
    public static func line<T: Encodable>(_ message: T) throws -> [UInt8] {
        var bytes = [UInt8](try encoder().encode(message))
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }
}

public struct RequestEnvelope<Params: Codable & Sendable>: Codable, Sendable {
    public var id: UInt64
    public var method: String
    public var params: Params
    public var fence: FenceToken?

    public init(id: UInt64, method: String, params: Params, fence: FenceToken? = nil) {
        self.id = id
        self.method = method
        self.params = params
        self.fence = fence
    }
}

/// The part of a request every reader can decode, before it knows the method.
public struct RequestHeader: Decodable, Sendable {
    public var id: UInt64
    public var method: String
    public var fence: FenceToken?
}

public struct ResponseEnvelope<Result: Codable & Sendable>: Codable, Sendable {
    public var id: UInt64?
    public var result: Result?
    public var error: AgentError?

    public init(id: UInt64?, result: Result) {
        self.id = id
        self.result = result
        self.error = nil
    }

    public init(id: UInt64?, error: AgentError) {
        self.id = id
        self.result = nil
        self.error = error
    }
}

public struct EventEnvelope<Data: Codable & Sendable>: Codable, Sendable {
    public var event: EventTopic
    public var data: Data

    public init(event: EventTopic, data: Data) {
        self.event = event
        self.data = data
    }
}

/// What an incoming line on the client side is, before its body is decoded.
public struct InboundHeader: Decodable, Sendable {
    public var id: UInt64?
    public var event: EventTopic?
    public var error: AgentError?
}
