import Foundation
import Testing
@testable import Coordinator

/// The key-value calls and transactions against a real etcd.
@Suite struct EtcdKVTests {
    @Test func putGetRangeDelete() async throws {
        try await withEtcd { _, etcd in
            #expect(try await etcd.get("ferry/none") == nil)
            let first = try await etcd.put("ferry/vms/b", Data("two".utf8))
            let second = try await etcd.put("ferry/vms/a", Data("one".utf8))
            try await etcd.put("ferry/vms/c", Data([0, 0xff, 10, 13]))
            try await etcd.put("ferry/other", Data())
            #expect(second == first + 1)

            let a = try #require(try await etcd.get("ferry/vms/a"))
            #expect(a == EtcdKeyValue(key: "ferry/vms/a", value: Data("one".utf8), createRevision: second,
                                      modRevision: second, version: 1, lease: 0))
            let updated = try await etcd.put("ferry/vms/a", Data("uno".utf8))
            let again = try #require(try await etcd.get("ferry/vms/a"))
            #expect(again.createRevision == second && again.modRevision == updated && again.version == 2)

            let range = try await etcd.range(prefix: "ferry/vms/")
            #expect(range.kvs.map(\.key) == ["ferry/vms/a", "ferry/vms/b", "ferry/vms/c"])
            #expect(range.kvs.last?.value == Data([0, 0xff, 10, 13]))
            #expect(range.revision == updated)
            #expect(try await etcd.get("ferry/other")?.value == Data())
            #expect(try await etcd.range(prefix: "").kvs.count == 4)
            #expect(try await etcd.range(prefix: "nothing/").kvs.isEmpty)

            #expect(try await etcd.delete("ferry/vms/b") == 1)
            #expect(try await etcd.delete("ferry/vms/b") == 0)
            #expect(try await etcd.delete(prefix: "ferry/vms/") == 2)
            #expect(try await etcd.range(prefix: "ferry/").kvs.map(\.key) == ["ferry/other"])
        }
    }

    @Test func prefixEndIncrementsTheLastByte() {
        #expect(WireRequest.prefixEnd("a/") == Data("a0".utf8).base64EncodedString())
        #expect(WireRequest.prefixEnd("") == Data([0]).base64EncodedString())
    }

    @Test func compareAndSwap() async throws {
        try await withEtcd { _, etcd in
            let key = "ferry/leader"
            let created = try await etcd.txn(EtcdTxn(
                compare: [.createRevision(key, equals: 0)],
                success: [.put(key, Data("c1".utf8)), .get(key)],
                failure: [.get(key)]))
            #expect(created.succeeded)
            #expect(created.responses.first == .put)
            #expect(created.gets.first?.first?.value == Data("c1".utf8))
            let modRevision = try #require(created.gets.first?.first?.modRevision)
            #expect(created.revision == modRevision)

            // A second creator loses and reads the holder in the same round trip.
            let lost = try await etcd.txn(EtcdTxn(
                compare: [.createRevision(key, equals: 0)], success: [.put(key, Data("c2".utf8))], failure: [.get(key)]))
            #expect(!lost.succeeded)
            #expect(lost.gets == [[try #require(try await etcd.get(key))]])

            // Swap only if nobody wrote since we read.
            let stale = try await etcd.txn(EtcdTxn(
                compare: [.modRevision(key, equals: modRevision - 1)], success: [.delete(key)]))
            #expect(!stale.succeeded && stale.responses.isEmpty)
            let swapped = try await etcd.txn(EtcdTxn(
                compare: [.modRevision(key, equals: modRevision), .value(key, equals: Data("c1".utf8)),
                          .version(key, equals: 1), .modRevision(key, lessThan: modRevision + 1)],
                success: [.put(key, Data("c3".utf8)), .delete("ferry/absent")]))
            #expect(swapped.succeeded)
            #expect(swapped.responses == [.put, .delete(deleted: 0)])
            #expect(try await etcd.get(key)?.value == Data("c3".utf8))

            let wrongValue = try await etcd.txn(EtcdTxn(
                compare: [.value(key, equals: Data("c1".utf8))], success: [.deletePrefix("ferry/")],
                failure: [.getPrefix("ferry/")]))
            #expect(!wrongValue.succeeded && wrongValue.gets.first?.map(\.key) == [key])
        }
    }

    /// Many creators at once, each with a client of its own: exactly one wins.
    @Test func racingCreatorsExactlyOneWins() async throws {
        try await withEtcd { cluster, _ in
            let key = "ferry/race"
            let outcomes = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
                for index in 0..<8 {
                    group.addTask {
                        let etcd = EtcdClient(endpoints: cluster.endpoints)
                        do {
                            let result = try await etcd.txn(EtcdTxn(
                                compare: [.createRevision(key, equals: 0)], success: [.put(key, Data("creator\(index)".utf8))]))
                            await etcd.shutdown()
                            return ("creator\(index)", result.succeeded)
                        } catch {
                            await etcd.shutdown()
                            throw error
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let winners = outcomes.filter(\.1).map(\.0)
            #expect(winners.count == 1)
            let stored = try await EtcdClient.withClient(cluster.endpoints) { try await $0.get(key) }
            #expect(stored.map { String(decoding: $0.value, as: UTF8.self) } == winners.first)
        }
    }
}

extension EtcdClient {
    /// A client for one piece of a test, shut down afterwards.
    static func withClient<T>(_ endpoints: [String], requestTimeout: Duration = .seconds(2), _ body: (EtcdClient) async throws -> T) async throws -> T {
        let client = EtcdClient(endpoints: endpoints, requestTimeout: requestTimeout)
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }
}
