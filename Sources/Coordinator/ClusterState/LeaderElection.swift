import Foundation
import Logging

/// Leader election on one etcd key, as etcd's own election recipe does it:
/// the first coordinator to create the key (bound to its lease) leads; the
/// others watch the key and try again when it is deleted, which etcd does
/// when the leader's lease lapses or the leader resigns.
struct LeaderElection: Sendable {
    let client: EtcdClient
    let keys: ClusterKeys
    let name: String
    let leaseSeconds: Int
    let logger: Logger

    /// Returns once this coordinator leads.
    func campaign() async throws -> Leadership {
        var lastLeader: String?
        while true {
            try Task.checkCancellation()
            do {
                let clusterID = try await ensureClusterID()
                let grantedAt = ContinuousClock.now
                let lease = try await client.grantLease(ttlSeconds: leaseSeconds)
                let record = LeaderRecord(name: name, since: Date())
                let result = try await client.txn(EtcdTxn(
                    compare: [.createRevision(keys.leader, equals: 0)],
                    success: [.put(keys.leader, try ClusterJSON.encode(record), lease: lease.id)],
                    failure: [.get(keys.leader)]))
                if result.succeeded {
                    return Leadership(
                        name: name, lease: lease.id, leaseSeconds: lease.ttl, grantedAt: grantedAt, epoch: UInt64(result.revision),
                        clusterID: clusterID)
                }
                try? await client.revokeLease(lease.id)
                guard let current = result.gets.flatMap({ $0 }).first else { continue }
                let leader = try ClusterJSON.decode(LeaderRecord.self, current.value, what: current.key)
                if lastLeader != leader.name {
                    logger.notice("\(leader.name) leads at epoch \(current.createRevision); \(name) follows")
                    lastLeader = leader.name
                }
                try await waitForVacancy(after: current.modRevision)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                logger.warning("election: \(error); trying again in 1 s")
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// The cluster's id, created by whoever gets here first.
    private func ensureClusterID() async throws -> String {
        let fresh = UUID().uuidString.lowercased()
        let result = try await client.txn(EtcdTxn(
            compare: [.createRevision(keys.clusterID, equals: 0)],
            success: [.put(keys.clusterID, Data(fresh.utf8), lease: nil)],
            failure: [.get(keys.clusterID)]))
        if result.succeeded { return fresh }
        guard let kv = result.gets.flatMap({ $0 }).first else { throw ClusterStateError.conflict("read the cluster id") }
        return String(decoding: kv.value, as: UTF8.self)
    }

    /// Waits until the leader key is deleted (the leader's lease lapsed or it
    /// resigned), watching from just after the revision it was last seen at.
    private func waitForVacancy(after revision: Int64) async throws {
        for try await event in client.watch(key: keys.leader, fromRevision: revision + 1) where event.kind == .delete {
            return
        }
    }

    /// Gives leadership up at once (graceful shutdown): revoking the lease
    /// deletes the leader key and every lock on it, so a follower takes over
    /// without waiting for the lease to lapse.
    func resign(_ leadership: Leadership) async {
        do {
            try await client.revokeLease(leadership.lease)
            logger.notice("\(name) resigned leadership (epoch \(leadership.epoch))")
        } catch {
            logger.warning("could not resign (the lease lapses by itself within \(leadership.leaseSeconds) s): \(error)")
        }
    }
}
