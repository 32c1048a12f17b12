import Foundation

/// An etcd transaction: if every comparison holds, `success` runs,
/// otherwise `failure`, atomically at one revision.
struct EtcdTxn: Sendable {
    var compare: [EtcdCompare]
    var success: [EtcdOp]
    var failure: [EtcdOp] = []
}

/// One comparison of a transaction. `.createRevision(key, equals: 0)` holds
/// when the key does not exist: the usual "create if absent".
struct EtcdCompare: Sendable, Equatable {
    /// What of the key is compared, and with what.
    enum Target: Sendable, Equatable {
        case version(Int64)
        case createRevision(Int64)
        case modRevision(Int64)
        case value(Data)
    }
    enum Relation: String, Sendable { case equal = "EQUAL", greater = "GREATER", less = "LESS", notEqual = "NOT_EQUAL" }

    var key: String
    var target: Target
    var relation: Relation

    static func createRevision(_ key: String, equals revision: Int64) -> Self {
        Self(key: key, target: .createRevision(revision), relation: .equal)
    }
    static func modRevision(_ key: String, equals revision: Int64) -> Self {
        Self(key: key, target: .modRevision(revision), relation: .equal)
    }
    static func modRevision(_ key: String, lessThan revision: Int64) -> Self {
        Self(key: key, target: .modRevision(revision), relation: .less)
    }
    static func modRevision(_ key: String, greaterThan revision: Int64) -> Self {
        Self(key: key, target: .modRevision(revision), relation: .greater)
    }
    static func version(_ key: String, equals version: Int64) -> Self {
        Self(key: key, target: .version(version), relation: .equal)
    }
    static func value(_ key: String, equals value: Data) -> Self {
        Self(key: key, target: .value(value), relation: .equal)
    }
    static func value(_ key: String, notEquals value: Data) -> Self {
        Self(key: key, target: .value(value), relation: .notEqual)
    }
}

/// One operation inside a transaction.
enum EtcdOp: Sendable, Equatable {
    case put(String, Data, lease: Int64? = nil)
    case delete(String)
    case get(String)
    case deletePrefix(String)
    case getPrefix(String)
}

/// What a transaction did: which branch ran, the store's revision after it,
/// and one response per operation of that branch, in order.
struct EtcdTxnResult: Sendable, Equatable {
    enum Response: Sendable, Equatable {
        case put
        case delete(deleted: Int64)
        /// The kvs a `.get` or `.getPrefix` found (empty when none).
        case get([EtcdKeyValue])
    }

    var succeeded: Bool
    var revision: Int64
    var responses: [Response]

    /// The kvs of the `.get` and `.getPrefix` operations, in order.
    var gets: [[EtcdKeyValue]] {
        responses.compactMap { if case .get(let kvs) = $0 { kvs } else { nil } }
    }
}
