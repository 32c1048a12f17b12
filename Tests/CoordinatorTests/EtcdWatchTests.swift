import Foundation
import Testing
@testable import Coordinator

/// Watches against a real etcd.
@Suite struct EtcdWatchTests {
    @Test func seesPutsAndDeletesInOrder() async throws {
        try await withEtcd { _, etcd in
            let start = try await etcd.put("ferry/start", Data())
            let events = etcd.watch(prefix: "ferry/vms/", fromRevision: start + 1)
            try await etcd.put("ferry/vms/a", Data("1".utf8))
            try await etcd.put("ferry/elsewhere", Data())
            try await etcd.put("ferry/vms/b", Data("2".utf8))
            try await etcd.put("ferry/vms/a", Data("3".utf8))
            let deleted = try await etcd.delete(prefix: "ferry/vms/")
            #expect(deleted == 2)

            var seen: [EtcdWatchEvent] = []
            for try await event in events {
                seen.append(event)
                if seen.count == 5 { break }
            }
            #expect(seen.map(\.kind) == [.put, .put, .put, .delete, .delete])
            #expect(seen.map(\.kv.key) == ["ferry/vms/a", "ferry/vms/b", "ferry/vms/a", "ferry/vms/a", "ferry/vms/b"])
            #expect(seen.prefix(3).map { String(decoding: $0.kv.value, as: UTF8.self) } == ["1", "2", "3"])
            #expect(seen.map(\.revision) == [start + 1, start + 3, start + 4, start + 5, start + 5])
            #expect(seen[2].kv.version == 2 && seen[2].kv.createRevision == start + 1)
        }
    }

    /// From an old revision the history is replayed, then new changes follow.
    @Test func replaysFromAnOldRevision() async throws {
        try await withEtcd { _, etcd in
            let first = try await etcd.put("ferry/epoch", Data("1".utf8))
            try await etcd.put("ferry/epoch", Data("2".utf8))
            try await etcd.delete("ferry/epoch")
            var iterator = etcd.watch(key: "ferry/epoch", fromRevision: first).makeAsyncIterator()
            var seen: [EtcdWatchEvent] = []
            for _ in 0..<3 { seen.append(try #require(try await iterator.next())) }
            #expect(seen.map(\.kind) == [.put, .put, .delete])
            #expect(seen.map(\.revision) == [first, first + 1, first + 2])

            try await etcd.put("ferry/epoch-not-this-key", Data())
            try await etcd.put("ferry/epoch", Data("4".utf8))
            let live = try #require(try await iterator.next())
            #expect(live.kind == .put && live.revision == first + 4 && live.kv.value == Data("4".utf8))
        }
    }

    @Test func cancellingTheConsumerEndsTheWatch() async throws {
        try await withEtcd { _, etcd in
            let events = etcd.watch(prefix: "ferry/")
            let consumer = Task {
                var count = 0
                for try await _ in events { count += 1 }
                return count
            }
            try await Task.sleep(for: .milliseconds(300))
            consumer.cancel()
            let started = ContinuousClock.now
            _ = try? await consumer.value
            #expect(ContinuousClock.now - started < .seconds(5))
        }
    }

    /// A member that dies ends the stream with an error telling the caller
    /// to watch again, not a silent end.
    @Test func aDeadMemberBreaksTheWatch() async throws {
        try await withEtcd { cluster, etcd in
            let start = try await etcd.put("ferry/a", Data())
            var iterator = etcd.watch(prefix: "ferry/", fromRevision: start).makeAsyncIterator()
            #expect(try await iterator.next()?.revision == start)
            await cluster.kill(0)
            do {
                _ = try await iterator.next()
                Issue.record("the watch went on after etcd died")
            } catch let error as EtcdError {
                guard case .watchBroken(_, let last, _) = error else {
                    Issue.record("unexpected \(error)")
                    return
                }
                #expect(last == start)
            }
        }
    }

    @Test func watchOfACompactedRevisionIsCanceled() async throws {
        try await withEtcd { _, etcd in
            let first = try await etcd.put("ferry/a", Data("1".utf8))
            let latest = try await etcd.put("ferry/a", Data("2".utf8))
            _ = try await etcd.call("/v3/kv/compaction", ["revision": String(latest)], as: WireRevisionResponse.self, repeat: .safe)
            var iterator = etcd.watch(key: "ferry/a", fromRevision: first).makeAsyncIterator()
            do {
                _ = try await iterator.next()
                Issue.record("a watch from a compacted revision started")
            } catch EtcdError.watchCanceled(_, let reason, let compactRevision) {
                #expect(compactRevision == latest)
                #expect(reason.contains("compacted"))
            }
        }
    }
}

extension EtcdWatchTests {
    /// Open watches hold their connections; requests must not queue behind them.
    @Test func manyOpenWatchesDoNotBlockRequests() async throws {
        try await withEtcd { _, etcd in
            let start = try await etcd.put("ferry/start", Data())
            var iterators = (0..<12).map { _ in etcd.watch(key: "ferry/x", fromRevision: start + 1).makeAsyncIterator() }
            try await Task.sleep(for: .milliseconds(200))
            let revision = try await etcd.put("ferry/x", Data("1".utf8))
            for index in iterators.indices {
                #expect(try await iterators[index].next()?.revision == revision)
            }
        }
    }
}
