import Foundation
import Logging
import Shared
import Testing
@testable import Agent
#if canImport(Glibc)
import Glibc
#endif

/// StoragePools against a real nfs-ganesha (TestNFSServer), local directories,
/// and ports where nothing answers. Only 127.0.0.1 is contacted.
@Suite struct StoragePoolsTests {
    @Test func reportsReachableAndUnreachablePoolsWithinTheTimeout() async throws {
        try await TestNFSServer.with { server in
            let (refusing, refusedPort) = try TestNFSServer.boundSocket()
            defer { close(refusing) }
            let (silent, silentPort) = try TestNFSServer.boundSocket(listening: true)
            defer { close(silent) }
            let pools: [StoragePoolConfig] = [
                .init(name: "nfs", kind: "nfs", url: server.urlString),
                .init(name: "refused", kind: "nfs", url: "nfs://127.0.0.1/ferry?nfsport=\(refusedPort)&mountport=\(refusedPort)"),
                .init(name: "silent", kind: "nfs", url: "nfs://127.0.0.1/ferry?nfsport=\(silentPort)&mountport=\(silentPort)"),
                .init(name: "no-export", kind: "nfs", url: "nfs://127.0.0.1/nope?nfsport=\(server.nfsPort)&mountport=\(server.mountPort)"),
                .init(name: "local", kind: "shared-path", path: server.exportPath),
                .init(name: "missing-dir", kind: "shared-path", path: "/nonexistent-ferry-pool"),
                .init(name: "bad", kind: "ceph", url: "rbd://x"),
            ]
            let storage = StoragePools(pools: pools, checkTimeout: .seconds(1))
            #expect(storage.statuses().map(\.error) == Array(repeating: "not checked yet", count: pools.count))

            let start = ContinuousClock.now
            await storage.refresh()
            let elapsed = ContinuousClock.now - start
            #expect(elapsed < .seconds(12), "pools are checked at once, each within 1 s (plus slack for a loaded machine): \(elapsed)")

            let status = Dictionary(uniqueKeysWithValues: storage.statuses().map { ($0.name, $0) })
            let nfs = try #require(status["nfs"])
            #expect(nfs.reachable && nfs.error == nil && (nfs.totalBytes ?? 0) > 0 && (nfs.freeBytes ?? 0) > 0)
            #expect(nfs.location == server.urlString && nfs.kind == "nfs")
            #expect(status["local"]?.reachable == true && status["local"]?.totalBytes == nfs.totalBytes)
            expectDown(status["refused"], saying: "connectionRefused")
            expectDown(status["silent"], saying: "timedOut")
            expectDown(status["no-export"], saying: "accessDenied")
            expectDown(status["missing-dir"], saying: "not a directory")
            expectDown(status["bad"], saying: "kind 'ceph'")

            // The inventory shows the cache, without waiting on any server.
            let inventory = InventoryService(
                config: AgentConfig(name: "h1", storagePools: pools), events: EventBus(), logger: Logger(label: "test"),
                storage: storage)
            let before = ContinuousClock.now
            #expect(await inventory.inventory().storagePools == storage.statuses())
            #expect(ContinuousClock.now - before < .seconds(2))
        }
    }

    @Test func backgroundRefreshNoticesAServerGoingAway() async throws {
        try await TestNFSServer.with { server in
            let storage = StoragePools(
                pools: [.init(name: "nfs", kind: "nfs", url: server.urlString)], checkTimeout: .seconds(1),
                refreshInterval: .milliseconds(200))
            let refresher = Task { try await storage.run() }
            defer { refresher.cancel() }
            #expect(await eventually { storage.statuses().first?.reachable == true })
            await server.stop()
            #expect(await eventually { storage.statuses().first?.reachable == false })
            #expect(storage.statuses().first?.error?.isEmpty == false)
        }
    }

    private func expectDown(_ status: StoragePoolStatus?, saying text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(status?.reachable == false, sourceLocation: sourceLocation)
        #expect(status?.error?.contains(text) == true, "\(String(describing: status?.error))", sourceLocation: sourceLocation)
        #expect(status?.totalBytes == nil, sourceLocation: sourceLocation)
    }

    private func eventually(within seconds: Double = 5, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }
}
