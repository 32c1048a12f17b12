import Foundation
import Testing
@testable import Coordinator

/// Leases and the keeper against a real etcd.
@Suite struct EtcdLeaseTests {
    @Test func keeperKeepsAKeyAlivePastItsTTLAndRevokeDeletesIt() async throws {
        try await withEtcd { _, etcd in
            let lease = try await etcd.grantLease(ttlSeconds: 2)
            #expect(lease.ttl == 2 && lease.id != 0)
            try await etcd.put("ferry/leader", Data("c1".utf8), lease: lease.id)
            #expect(try await etcd.get("ferry/leader")?.lease == lease.id)

            let keeper = LeaseKeeper(client: etcd, lease: lease)
            try await Task.sleep(for: .seconds(4))
            #expect(try await etcd.get("ferry/leader") != nil)
            let left = try #require(try await etcd.timeToLive(lease.id))
            #expect(left >= 1 && left <= 2)
            keeper.stop()
            var losses: [LeaseKeeper.Loss] = []
            for await loss in keeper.losses { losses.append(loss) }
            #expect(losses.isEmpty)

            try await etcd.revokeLease(lease.id)
            #expect(try await etcd.get("ferry/leader") == nil)
            #expect(try await etcd.timeToLive(lease.id) == nil)
            await #expect(throws: EtcdError.leaseNotFound(lease.id)) { try await etcd.keepAliveOnce(lease.id) }
            await #expect(throws: EtcdError.leaseNotFound(lease.id)) { try await etcd.revokeLease(lease.id) }
            await #expect(throws: EtcdError.leaseNotFound(lease.id)) {
                try await etcd.put("ferry/leader", Data(), lease: lease.id)
            }
        }
    }

    @Test func aLeaseNotKeptExpiresAndTakesItsKeys() async throws {
        try await withEtcd { _, etcd in
            let lease = try await etcd.grantLease(ttlSeconds: 1)
            try await etcd.put("ferry/ephemeral", Data("x".utf8), lease: lease.id)
            #expect(try await etcd.keepAliveOnce(lease.id) >= 1)
            let deadline = ContinuousClock.now + .seconds(5)
            while try await etcd.get("ferry/ephemeral") != nil, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(try await etcd.get("ferry/ephemeral") == nil)
            await #expect(throws: EtcdError.leaseNotFound(lease.id)) { try await etcd.keepAliveOnce(lease.id) }
        }
    }

    @Test func keeperReportsALeaseRevokedElsewhere() async throws {
        try await withEtcd { _, etcd in
            let lease = try await etcd.grantLease(ttlSeconds: 3)
            let keeper = LeaseKeeper(client: etcd, lease: lease)
            try await Task.sleep(for: .milliseconds(300))
            try await etcd.revokeLease(lease.id)
            let started = ContinuousClock.now
            var iterator = keeper.losses.makeAsyncIterator()
            #expect(await iterator.next() == .gone)
            // Renewals go every second; a loaded machine may be slower.
            #expect(ContinuousClock.now - started < .seconds(5))
        }
    }

    /// With etcd gone the keeper cannot renew: it reports the loss once the
    /// TTL has run out since the last renewal was sent, not later.
    @Test func keeperReportsExpiryWhenEtcdIsGone() async throws {
        try await withEtcd(requestTimeout: .seconds(1)) { cluster, etcd in
            let sent = ContinuousClock.now
            let lease = try await etcd.grantLease(ttlSeconds: 2)
            let keeper = LeaseKeeper(client: etcd, lease: lease, grantedAt: sent)
            try await Task.sleep(for: .milliseconds(900))
            await cluster.kill(0)
            let killed = ContinuousClock.now
            var iterator = keeper.losses.makeAsyncIterator()
            let loss = try #require(await iterator.next())
            guard case .expired(let lastError) = loss else {
                Issue.record("expected expiry, got \(loss)")
                return
            }
            #expect(lastError.contains("unreachable"))
            // The last renewal was sent at most 2/3 s before the kill; the TTL is 2 s.
            // Not before the lease could have lapsed; soon after (a loaded
            // machine schedules late, so the upper bound is loose).
            #expect(ContinuousClock.now - killed < .seconds(5))
            #expect(ContinuousClock.now - killed > .seconds(1))
        }
    }
}
