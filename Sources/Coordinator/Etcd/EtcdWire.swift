import Foundation

// etcd's JSON gateway (grpc-gateway with the proto's field names): keys and
// values are base64, 64-bit integers come as strings, and fields holding
// their zero value are left out, so every field here is optional.

/// An int64/uint64 the gateway writes as a JSON string (or, leniently, a number).
struct WireInt<Value: FixedWidthInteger & Sendable & Decodable>: Decodable, Sendable {
    var value: Value

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let parsed = Value(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not an integer")
            }
            value = parsed
        } else {
            value = try container.decode(Value.self)
        }
    }
}

typealias WireInt64 = WireInt<Int64>
typealias WireUInt64 = WireInt<UInt64>

struct WireHeader: Decodable, Sendable {
    var revision: WireInt64?
    var member_id: WireUInt64?
}

struct WireKeyValue: Decodable, Sendable {
    var key: String?
    var value: String?
    var create_revision: WireInt64?
    var mod_revision: WireInt64?
    var version: WireInt64?
    var lease: WireInt64?

    func decoded() throws -> EtcdKeyValue {
        guard let keyBytes = Data(base64Encoded: key ?? ""), let name = String(data: keyBytes, encoding: .utf8) else {
            throw WireError.malformed("key '\(key ?? "")' is not base64 of UTF-8")
        }
        guard let bytes = Data(base64Encoded: value ?? "") else {
            throw WireError.malformed("value of \(name) is not base64")
        }
        return EtcdKeyValue(
            key: name, value: bytes, createRevision: create_revision?.value ?? 0, modRevision: mod_revision?.value ?? 0,
            version: version?.value ?? 0, lease: lease?.value ?? 0)
    }
}

struct WireRangeResponse: Decodable, Sendable {
    var header: WireHeader?
    var kvs: [WireKeyValue]?
}

struct WireRevisionResponse: Decodable, Sendable {
    var header: WireHeader?
}

struct WireDeleteResponse: Decodable, Sendable {
    var header: WireHeader?
    var deleted: WireInt64?
}

struct WireTxnResponse: Decodable, Sendable {
    struct Op: Decodable, Sendable {
        var response_range: WireRangeResponse?
        var response_put: WireRevisionResponse?
        var response_delete_range: WireDeleteResponse?
    }
    var header: WireHeader?
    var succeeded: Bool?
    var responses: [Op]?
}

struct WireLeaseGrantResponse: Decodable, Sendable {
    var ID: WireInt64?
    var TTL: WireInt64?
    var error: String?
}

/// Keep-alive is a streaming RPC: the gateway wraps its one answer in "result".
struct WireKeepAliveResponse: Decodable, Sendable {
    struct Result: Decodable, Sendable {
        var ID: WireInt64?
        var TTL: WireInt64?
    }
    var result: Result?
    var error: WireErrorBody?
}

struct WireTimeToLiveResponse: Decodable, Sendable {
    var ID: WireInt64?
    /// -1 when the lease does not exist (any more).
    var TTL: WireInt64?
}

struct WireStatusResponse: Decodable, Sendable {
    var header: WireHeader?
    var version: String?
    var leader: WireUInt64?
    var errors: [String]?
}

/// The gateway's error body, for any non-200 answer and inside streams.
struct WireErrorBody: Decodable, Sendable {
    var error: String?
    var code: Int?
    var message: String?
}

/// One line of the watch stream.
struct WireWatchMessage: Decodable, Sendable {
    struct Result: Decodable, Sendable {
        var header: WireHeader?
        var created: Bool?
        var canceled: Bool?
        var compact_revision: WireInt64?
        var cancel_reason: String?
        var events: [Event]?
    }
    struct Event: Decodable, Sendable {
        /// "PUT" is the zero value and so left out; only "DELETE" appears.
        var type: String?
        var kv: WireKeyValue?
    }
    var result: Result?
    var error: WireErrorBody?
}

enum WireError: Error, CustomStringConvertible {
    case malformed(String)
    var description: String {
        switch self { case .malformed(let what): what }
    }
}

/// Request bodies: JSON objects built from these, keys and values base64.
enum WireRequest {
    static func base64(_ key: String) -> String { Data(key.utf8).base64EncodedString() }

    /// The end of the range holding every key that starts with `prefix`:
    /// the prefix with its last byte incremented (dropping trailing 0xff);
    /// "\0" (every key) for an empty prefix or one of only 0xff bytes.
    static func prefixEnd(_ prefix: String) -> String {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xff {
                bytes[bytes.count - 1] = last + 1
                return Data(bytes).base64EncodedString()
            }
            bytes.removeLast()
        }
        return Data([0]).base64EncodedString()
    }

    static func range(key: String) -> [String: any Sendable] { ["key": base64(key)] }

    static func range(prefix: String) -> [String: any Sendable] {
        ["key": prefix.isEmpty ? Data([0]).base64EncodedString() : base64(prefix), "range_end": prefixEnd(prefix),
         "sort_order": "ASCEND", "sort_target": "KEY"]
    }

    static func put(key: String, value: Data, lease: Int64?) -> [String: any Sendable] {
        var body: [String: any Sendable] = ["key": base64(key), "value": value.base64EncodedString()]
        if let lease { body["lease"] = String(lease) }
        return body
    }

    static func deleteRange(key: String) -> [String: any Sendable] { ["key": base64(key)] }

    static func deleteRange(prefix: String) -> [String: any Sendable] {
        ["key": prefix.isEmpty ? Data([0]).base64EncodedString() : base64(prefix), "range_end": prefixEnd(prefix)]
    }

    static func txn(_ txn: EtcdTxn) -> [String: any Sendable] {
        ["compare": txn.compare.map(compare), "success": txn.success.map(op), "failure": txn.failure.map(op)]
    }

    private static func compare(_ compare: EtcdCompare) -> [String: any Sendable] {
        var body: [String: any Sendable] = ["key": base64(compare.key), "result": compare.relation.rawValue]
        switch compare.target {
        case .createRevision(let revision): (body["target"], body["create_revision"]) = ("CREATE", String(revision))
        case .modRevision(let revision): (body["target"], body["mod_revision"]) = ("MOD", String(revision))
        case .version(let version): (body["target"], body["version"]) = ("VERSION", String(version))
        case .value(let value): (body["target"], body["value"]) = ("VALUE", value.base64EncodedString())
        }
        return body
    }

    private static func op(_ op: EtcdOp) -> [String: any Sendable] {
        switch op {
        case .put(let key, let value, let lease): ["request_put": put(key: key, value: value, lease: lease)]
        case .delete(let key): ["request_delete_range": deleteRange(key: key)]
        case .get(let key): ["request_range": range(key: key)]
        case .deletePrefix(let prefix): ["request_delete_range": deleteRange(prefix: prefix)]
        case .getPrefix(let prefix): ["request_range": range(prefix: prefix)]
        }
    }
}
