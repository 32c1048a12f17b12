import Foundation

/// One key as etcd stores it. Revisions are cluster-wide counters: a key's
/// `createRevision` is 0 when it does not exist, which compare-and-swap
/// creators test for.
struct EtcdKeyValue: Sendable, Equatable {
    var key: String
    var value: Data
    var createRevision: Int64
    var modRevision: Int64
    /// Puts since the key was created: 1 after the first.
    var version: Int64
    /// The lease the key is attached to, 0 for none.
    var lease: Int64
}

/// Keys under a prefix, sorted by key, and the store's revision when read
/// (watch from `revision + 1` to see everything after this read).
struct EtcdRangeResult: Sendable, Equatable {
    var kvs: [EtcdKeyValue]
    var revision: Int64
}

/// A lease granted by etcd: keys put with it are deleted when it expires.
struct EtcdLease: Sendable, Equatable {
    var id: Int64
    /// The TTL etcd granted, in seconds (it may raise a too-small request).
    var ttl: Int
}

/// One change seen by a watch.
struct EtcdWatchEvent: Sendable, Equatable {
    enum Kind: String, Sendable { case put, delete }
    var kind: Kind
    /// For a delete, only `key` and `modRevision` are meaningful.
    var kv: EtcdKeyValue
    /// The revision of the change (the kv's mod revision).
    var revision: Int64
}

/// How one member answered a status request.
struct EndpointHealth: Sendable, Equatable {
    var endpoint: String
    /// It answered at all.
    var reachable: Bool
    var memberID: UInt64?
    /// The leader this member follows; nil when it knows of none.
    var leaderID: UInt64?
    var version: String?
    /// Why it is unreachable or unhealthy ("etcdserver: no leader"), nil when fine.
    var error: String?

    var isLeader: Bool { memberID != nil && memberID == leaderID }
    /// Reachable and following a leader.
    var isHealthy: Bool { reachable && leaderID != nil && error == nil }
}

extension [EndpointHealth] {
    /// A majority of members follows a leader.
    var hasQuorum: Bool { filter(\.isHealthy).count * 2 > count }

    /// One line for an operator: "etcd has no quorum: 2 of 3 members
    /// unreachable (http://…: connection refused; …)" or "etcd is healthy:
    /// 3 of 3 members, leader at http://…".
    var summary: String {
        let down = filter { !$0.isHealthy }
        let details = down.map { "\($0.endpoint): \($0.error ?? "no leader")" }.joined(separator: "; ")
        if hasQuorum {
            let leader = first(where: \.isLeader).map { ", leader at \($0.endpoint)" } ?? ""
            return down.isEmpty
                ? "etcd is healthy: \(count) of \(count) members\(leader)"
                : "etcd has quorum\(leader), but \(down.count) of \(count) members are unhealthy (\(details))"
        }
        let unreachable = down.filter { !$0.reachable }.count
        return "etcd has no quorum: \(unreachable) of \(count) members unreachable"
            + (down.count > unreachable ? ", \(down.count - unreachable) without a leader" : "")
            + (details.isEmpty ? "" : " (\(details))")
    }
}
