import Foundation
import Shared

/// What the leader key holds: who leads, since when, at which epoch.
struct LeaderRecord: Codable, Sendable, Equatable {
    var name: String
    var since: Date
    /// Filled in by readers from the key's create revision (the epoch is only
    /// known once the key is written).
    var epoch: UInt64?
}

/// This coordinator's term as leader.
struct Leadership: Sendable, Equatable {
    var name: String
    /// The etcd lease the leader key and every migration lock hang on.
    var lease: Int64
    var leaseSeconds: Int
    /// When the grant request was sent: the lease's first TTL runs from here.
    var grantedAt: ContinuousClock.Instant
    /// The leader key's create revision: higher for every later leader.
    var epoch: UInt64
    /// The coordinator cluster's id (see `FenceToken.cluster`).
    var clusterID: String

    var fence: FenceToken { FenceToken(epoch: epoch, coordinator: name, cluster: clusterID) }
}
