import Foundation
import Logging
import Shared
import Testing
@testable import Agent

/// Fencing: an agent remembers the highest coordinator epoch it has seen, on
/// disk, and refuses requests from older epochs, over the real socket server
/// and the coordinator's own client.
@Suite(.serialized) struct FenceGuardTests {
    func startServer(stateDir: String) async throws -> (path: String, task: Task<Void, any Error>) {
        let path = stateDir + "/run/agent.sock"
        let events = EventBus()
        let config = AgentConfig(name: "t1", socket: path, stateDir: stateDir, qemuBinary: "/nonexistent/qemu")
        let inventory = InventoryService(config: config, events: events, logger: Logger(label: "test"))
        let router = AgentAPI.router(
            hostName: "t1", inventory: inventory, vms: VMSupervisor(config: config, logger: Logger(label: "test"), host: inventory),
            fence: FenceGuard(stateDir: stateDir, logger: Logger(label: "test")))
        let server = AgentSocketServer(path: path, router: router, events: events, logger: Logger(label: "test"))
        let task = Task { try await server.run() }
        for _ in 0..<200 where !UnixSocket.isServed(path) { try await Task.sleep(for: .milliseconds(10)) }
        try #require(UnixSocket.isServed(path), "server did not start")
        return (path, task)
    }

    func client(_ path: String, epoch: UInt64?, name: String = "c1") async throws -> AgentClient {
        let client = AgentClient(stream: try FileDescriptorStream(socketPath: path), fence: epoch.map { FenceToken(epoch: $0, coordinator: name) })
        try await client.connect(client: "test")
        return client
    }

    @Test func olderEpochsAreRefusedEvenAfterARestart() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-fence-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var server = try await startServer(stateDir: dir)

        // No token (a coordinator outside a cluster) is always admitted.
        let plain = try await client(server.path, epoch: nil)
        _ = try await plain.call(AgentMethods.Ping.self, Empty())

        let first = try await client(server.path, epoch: 7, name: "c1")
        _ = try await first.call(AgentMethods.Ping.self, Empty())
        let second = try await client(server.path, epoch: 12, name: "c2")
        _ = try await second.call(AgentMethods.VMList.self, Empty())

        // c1's next request, on its still-open connection, is refused and names both.
        let refused = try await #require(throws: AgentError.self) { try await first.call(AgentMethods.VMList.self, Empty()) }
        #expect(refused.code == .fenced)
        #expect(refused.message.contains("epoch 7") && refused.message.contains("c2") && refused.message.contains("epoch 12"), "\(refused)")
        // An unfenced client still works, and so does the current leader.
        _ = try await plain.call(AgentMethods.Ping.self, Empty())
        _ = try await second.call(AgentMethods.Ping.self, Empty())

        for c in [plain, first, second] { await c.close() }
        server.task.cancel()
        _ = await server.task.result

        // A restarted agent still knows epoch 12.
        server = try await startServer(stateDir: dir)
        defer { server.task.cancel() }
        let stale = AgentClient(stream: try FileDescriptorStream(socketPath: server.path), fence: FenceToken(epoch: 11, coordinator: "c1"))
        let handshake = try await #require(throws: AgentError.self) { try await stale.connect(client: "test") }
        #expect(handshake.code == .fenced)
        await stale.close()
        let current = try await client(server.path, epoch: 12, name: "c2")
        _ = try await current.call(AgentMethods.Ping.self, Empty())
        await current.close()
    }
}

extension FenceGuardTests {
    /// A rebuilt etcd starts its revisions over under a new cluster id: the
    /// agent counts afresh for it rather than refusing it for ever, and
    /// within that cluster refuses older epochs again.
    @Test func aNewCoordinatorClusterStartsTheEpochsOver() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-fence-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fence = FenceGuard(stateDir: dir, logger: Logger(label: "test"))
        try await fence.admit(FenceToken(epoch: 40, coordinator: "c1", cluster: "old"), method: "ping")
        try await fence.admit(FenceToken(epoch: 2, coordinator: "c2", cluster: "new"), method: "ping")
        let highest = await fence.highest
        #expect(highest?.epoch == 2 && highest?.cluster == "new")
        try await fence.admit(FenceToken(epoch: 5, coordinator: "c3", cluster: "new"), method: "ping")
        let refused = try await #require(throws: AgentError.self) {
            try await fence.admit(FenceToken(epoch: 4, coordinator: "c2", cluster: "new"), method: "vm.start")
        }
        #expect(refused.code == .fenced)
        // A token naming no cluster cannot claim to start a new one.
        await #expect(throws: AgentError.self) {
            try await fence.admit(FenceToken(epoch: 1, coordinator: "old"), method: "vm.kill")
        }
        #expect(FenceGuard(stateDir: dir, logger: Logger(label: "test")).highestOnDisk?.epoch == 5)
    }
}
