import Foundation
import Logging

/// Keeps the leader's lease alive and says when leadership is lost.
///
/// Lost means etcd says the lease is gone, or no keep-alive has succeeded
/// for a whole lease measured from when the last good one was sent (etcd's
/// `LeaseKeeper` loop): by then etcd may have expired the lease and another
/// coordinator may lead, so this one must stop acting even though nobody
/// told it.
struct LeaseHolder: Sendable {
    let client: EtcdClient
    let leadership: Leadership

    /// Returns why leadership was lost; never returns while it holds.
    func hold() async -> String {
        let lease = EtcdLease(id: leadership.lease, ttl: leadership.leaseSeconds)
        do {
            let loss = try await LeaseKeeper.keep(
                client: client, lease: lease, validUntil: leadership.grantedAt + .seconds(leadership.leaseSeconds))
            return "\(loss)"
        } catch {
            return "stopped"
        }
    }
}
