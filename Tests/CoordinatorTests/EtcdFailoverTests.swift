import Foundation
import Testing
@testable import Coordinator

/// Dead endpoints, dead members and a cluster without quorum.
@Suite struct EtcdFailoverTests {
    @Test func aDeadFirstEndpointIsSkipped() async throws {
        try await withEtcd { cluster, _ in
            let dead = "http://127.0.0.1:\(try EtcdTestCluster.freePorts(1)[0])"
            try await EtcdClient.withClient([dead] + cluster.endpoints) { etcd in
                try await etcd.put("ferry/a", Data("1".utf8))
                #expect(etcd.currentEndpoint == cluster.endpoints[0])
                #expect(try await etcd.get("ferry/a")?.value == Data("1".utf8))
                let health = await etcd.health()
                #expect(health.map(\.reachable) == [false, true])
                #expect(health[1].isLeader)
                #expect(health.hasQuorum == false)  // one of two members down
            }
        }
    }

    @Test func allEndpointsDeadIsUnreachableNamingEach() async throws {
        let ports = try EtcdTestCluster.freePorts(2)
        let endpoints = ports.map { "http://127.0.0.1:\($0)" }
        try await EtcdClient.withClient(endpoints, requestTimeout: .seconds(1)) { etcd in
            let started = ContinuousClock.now
            do {
                _ = try await etcd.get("ferry/a")
                Issue.record("a get with no etcd succeeded")
            } catch let error as EtcdError {
                #expect(error == .unreachable(endpoints: endpoints, reasons: ["connection refused", "connection refused"]))
                #expect(error.description.contains(endpoints[0]) && error.description.contains(endpoints[1]))
            }
            // Refused, not timed out (the reasons say so); the bound only
            // catches a hang, since parallel tests on 2 cores slow everything.
            #expect(ContinuousClock.now - started < .seconds(10))
            await #expect(throws: EtcdError.self) { try await etcd.txn(EtcdTxn(compare: [], success: [])) }
            let health = await etcd.health()
            #expect(health.allSatisfy { !$0.reachable && $0.error == "connection refused" })
            #expect(health.summary.hasPrefix("etcd has no quorum: 2 of 2 members unreachable"))
        }
    }

    /// One of three members down: everything works, through the others.
    /// Two down: writes and reads fail fast with a typed error, and health says why.
    @Test func threeMembersLosingOneThenTwo() async throws {
        try await withEtcd(members: 3, requestTimeout: .seconds(2)) { cluster, etcd in
            try await etcd.put("ferry/a", Data("1".utf8))
            let first = etcd.currentEndpoint
            let firstIndex = try #require(cluster.endpoints.firstIndex(of: first))
            await cluster.kill(firstIndex)

            // A new leader may take an election timeout (0.5 s) or two.
            let revision = try await eventually { try await etcd.put("ferry/a", Data("2".utf8)) }
            #expect(revision > 0 && etcd.currentEndpoint != first)
            #expect(try await etcd.get("ferry/a")?.value == Data("2".utf8))
            let degraded = await etcd.health()
            #expect(degraded.hasQuorum && degraded.filter(\.isHealthy).count == 2)

            let second = try #require(cluster.endpoints.firstIndex(of: etcd.currentEndpoint))
            await cluster.kill(second)
            try await Task.sleep(for: .seconds(1))  // the survivor notices it has no leader

            let started = ContinuousClock.now
            do {
                try await etcd.put("ferry/a", Data("3".utf8))
                Issue.record("a put without quorum succeeded")
            } catch let error as EtcdError {
                guard case .noQuorum(let endpoints, let reasons) = error else {
                    Issue.record("expected noQuorum, got \(error)")
                    return
                }
                #expect(endpoints == cluster.endpoints)
                #expect(reasons.filter { $0 == "connection refused" }.count == 2)
                #expect(reasons.contains("etcdserver: no leader"))
            }
            await #expect(throws: EtcdError.self) {
                try await etcd.txn(EtcdTxn(compare: [.createRevision("ferry/b", equals: 0)], success: [.put("ferry/b", Data())]))
            }
            await #expect(throws: EtcdError.self) { try await etcd.get("ferry/a") }
            // Bounded by the request timeout, not a hang (generous for a loaded machine).
            #expect(ContinuousClock.now - started < .seconds(15))

            let health = await etcd.health()
            #expect(!health.hasQuorum)
            #expect(health.summary.hasPrefix("etcd has no quorum: 2 of 3 members unreachable, 1 without a leader"))
        }
    }

    /// Retries `body` for up to 5 s while etcd elects a leader.
    private func eventually<T>(_ body: () async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            do {
                return try await body()
            } catch let error as EtcdError where ContinuousClock.now < deadline {
                _ = error
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}
