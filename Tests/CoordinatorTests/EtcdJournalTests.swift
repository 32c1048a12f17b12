import Foundation
import Logging
import Testing
@testable import Coordinator

/// The coordinator cluster's state and election on a real etcd: the journal
/// as the leader writes it, its locks on the leader's lease, the guard that
/// stops a deposed leader's writes, and the election itself.
@Suite struct EtcdJournalTests {
    let keys = ClusterKeys(prefix: "/t/")

    /// A lease long enough to outlast a test on a loaded machine: these
    /// leaders do not renew, and a lapse is made explicitly where wanted.
    func elect(_ client: EtcdClient, _ name: String, lease: Int = 60) async throws -> Leadership {
        try await LeaderElection(client: client, keys: keys, name: name, leaseSeconds: lease, logger: Logger(label: "test")).campaign()
    }

    @Test func theLeaderJournalsAMigrationAndItsLockGoesWithIt() async throws {
        try await withEtcd { (_, etcd) async throws in
            let leadership = try await elect(etcd, "c1")
            let journal = EtcdJournal(client: etcd, keys: keys, leadership: leadership)
            let record = JournalFixture.record()
            try await journal.begin(record, owner: .current())
            #expect(try await journal.record(record.id) == record)
            #expect(try await journal.lockHolder(vm: record.vm)?.migrationID == record.id)
            // A second migration of the same VM is refused while the lock is held.
            let rival = JournalFixture.record()
            await #expect(throws: VMLockedError.self) { try await journal.begin(rival, owner: .current()) }

            try await journal.step(record.id, .checked, detail: "ok")
            try await journal.step(record.id, .streaming)
            try await journal.update(record.id, figures: MigrationFigures(setupMs: 12.5))
            try await journal.finish(record.id, outcome: .succeeded, error: nil)
            let read = try #require(try await journal.record(record.id))
            #expect(read.outcome == .succeeded && read.lastStep == .streaming && read.figures.setupMs == 12.5)
            #expect(try await journal.steps(record.id).map(\.step) == [.planned, .checked, .streaming])
            #expect(try await journal.lockHolder(vm: record.vm) == nil)
            #expect(try await journal.lastMoves()[record.vm] != nil)
            #expect(try await journal.resolveID(String(record.id.prefix(8))) == record.id)
        }
    }

    /// The leader dies with a migration under way: its lock lapses with its
    /// lease, the migration is an orphan, the next leader (higher epoch) may
    /// adopt it, and the old leader can write nothing any more.
    @Test func aLapsedLeaseOrphansTheMigrationAndFencesTheOldLeadersWrites() async throws {
        try await withEtcd { (_, etcd) async throws in
            let first = try await elect(etcd, "c1")
            let old = EtcdJournal(client: etcd, keys: keys, leadership: first)
            let record = JournalFixture.record()
            try await old.begin(record, owner: .current())
            try await old.step(record.id, .streaming)
            #expect(try await old.orphaned().isEmpty)

            // c1's lease lapses: revoked here, which is what etcd does when a
            // lease expires (its keys go), without waiting for the TTL. c2 wins.
            try await etcd.revokeLease(first.lease)
            let second = try await elect(etcd, "c2")
            #expect(second.epoch > first.epoch)
            let new = EtcdJournal(client: etcd, keys: keys, leadership: second)
            #expect(try await new.orphaned().map(\.id) == [record.id])
            try await new.adopt(record.id, owner: .current())
            #expect(try await new.orphaned().isEmpty)

            let refused = await #expect(throws: ClusterStateError.self) { try await old.step(record.id, .verified) }
            #expect("\(refused.map { "\($0)" } ?? "")".contains("no longer leads"))
            try await new.step(record.id, .rolledBack, detail: "settled")
            try await new.finish(record.id, outcome: .rolledBack, error: "settled by c2")
            #expect(try await new.unfinished().isEmpty)
        }
    }

    /// A CLI (no leadership) reads and sets maintenance, but may not run a migration.
    @Test func withoutLeadershipMaintenanceWorksAndMigrationsAreRefused() async throws {
        try await withEtcd { (_, etcd) async throws in
            let cli = EtcdJournal(client: etcd, keys: keys, leadership: nil)
            #expect(try await cli.setMaintenance("h1", on: true, reason: "BIOS"))
            #expect(try await cli.setMaintenance("h1", on: true, reason: nil) == false)
            #expect(try await cli.maintenance(host: "h1")?.reason == "BIOS")
            #expect(try await cli.maintenance().keys.sorted() == ["h1"])
            #expect(try await cli.setMaintenance("h1", on: false, reason: nil))
            #expect(try await cli.maintenance().isEmpty)
            await #expect(throws: ClusterStateError.self) { try await cli.begin(JournalFixture.record(), owner: .current()) }
        }
    }

    /// Two campaigners: exactly one leads; when it resigns the other leads at
    /// a higher epoch, and both name the same cluster id.
    @Test func oneLeadsAtATimeAndEpochsRise() async throws {
        try await withEtcd { (_, etcd) async throws in
            let logger = Logger(label: "test")
            let c1 = LeaderElection(client: etcd, keys: keys, name: "c1", leaseSeconds: 60, logger: logger)
            let c2 = LeaderElection(client: etcd, keys: keys, name: "c2", leaseSeconds: 60, logger: logger)
            let first = try await c1.campaign()
            let waiting = Task { try await c2.campaign() }
            try await Task.sleep(for: .milliseconds(500))
            #expect(!waiting.isCancelled)
            let leaderKey = try #require(try await etcd.get(keys.leader))
            #expect(try ClusterJSON.decode(LeaderRecord.self, leaderKey.value, what: "leader").name == "c1")
            await c1.resign(first)
            let second = try await waiting.value
            #expect(second.name == "c2" && second.epoch > first.epoch && second.clusterID == first.clusterID)
        }
    }
}
