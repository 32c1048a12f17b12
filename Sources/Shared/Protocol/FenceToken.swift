/// Proof that a request comes from the coordinator that leads now.
///
/// In a coordinator cluster the leader's epoch is the etcd revision at which
/// it won the election, so a later leader always has a higher one. Agents
/// remember the highest epoch they have seen and refuse requests carrying a
/// lower one: a leader that was paused or cut off, and has been replaced,
/// cannot act on a host its successor has already touched. A request with no
/// token comes from a coordinator that is not in a cluster (SQLite journal)
/// and is always admitted.
///
/// Epochs are revisions of one etcd cluster, so they compare only within it:
/// `cluster` names the coordinator cluster (an id its first leader stores in
/// etcd). When etcd is rebuilt from nothing, revisions start over under a new
/// id, and agents start counting again instead of refusing the new cluster
/// for ever.
public struct FenceToken: Codable, Sendable, Equatable, CustomStringConvertible {
    public var epoch: UInt64
    /// The coordinator's name, for the agent's log.
    public var coordinator: String
    public var cluster: String?

    public init(epoch: UInt64, coordinator: String, cluster: String? = nil) {
        self.epoch = epoch
        self.coordinator = coordinator
        self.cluster = cluster
    }

    public var description: String { "epoch \(epoch) (\(coordinator))" }
}
