import Foundation
import Logging
import Shared
import Testing
@testable import Agent

/// The agent's socket server on a real Unix socket, spoken to by the same
/// client the coordinator uses.
@Suite(.serialized) struct AgentSocketServerTests {
    struct RunningServer {
        let path: String
        let events: EventBus
        let task: Task<Void, any Error>
    }

    func start() async throws -> RunningServer {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-sock-\(UUID().uuidString.prefix(8))").path
        let path = dir + "/run/agent.sock"
        let events = EventBus()
        let config = AgentConfig(name: "t1", socket: path, qemuBinary: "/nonexistent/qemu")
        let inventory = InventoryService(config: config, events: events, logger: Logger(label: "test"))
        let server = AgentSocketServer(
            path: path, router: AgentAPI.router(hostName: "t1", inventory: inventory, vms: VMSupervisor(config: config, logger: Logger(label: "test"), host: inventory)), events: events, logger: Logger(label: "test"))
        let task = Task { try await server.run() }
        for _ in 0..<200 where !UnixSocket.isServed(path) { try await Task.sleep(for: .milliseconds(10)) }
        try #require(UnixSocket.isServed(path), "server did not start")
        return RunningServer(path: path, events: events, task: task)
    }

    @Test func socketIsRootOnlyAndAnswersTheClient() async throws {
        let server = try await start()
        defer { server.task.cancel() }
        // The mode is set just after bind; the agent's umask (0077) covers the gap.
        func mode(_ path: String) throws -> Int? { try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int }
        for _ in 0..<100 where try mode(server.path) != 0o600 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(try mode(server.path) == 0o600)
        #expect(try mode((server.path as NSString).deletingLastPathComponent) == 0o700)
        let client = AgentClient(stream: try FileDescriptorStream(socketPath: server.path))
        let hello = try await client.connect(client: "test")
        #expect(hello.host == "t1" && hello.version == AgentProtocol.version)
        let inventory = try await client.call(AgentMethods.Inventory.self, Empty())
        #expect(inventory.host == "t1" && inventory.cpu.count > 0 && inventory.memory.totalBytes > 0)
        await client.close()
    }

    @Test func badInputGetsErrorRepliesAndTheConnectionLives() async throws {
        let server = try await start()
        defer { server.task.cancel() }
        let stream = try FileDescriptorStream(socketPath: server.path)
        var input = Array("not json\n".utf8)
        input += Array(repeating: UInt8(ascii: "x"), count: AgentProtocol.maxMessageBytes + 10) + [UInt8(ascii: "\n")]
        input += Array(#"{"id":5,"method":"hello","params":{"versions":[1],"client":"raw"}}"#.utf8) + [UInt8(ascii: "\n")]
        input += Array(#"{"id":6,"method":"ping","params":{}}"#.utf8) + [UInt8(ascii: "\n")]
        try await stream.write(input)

        var framer = LineFramer()
        var replies: [ResponseEnvelope<Empty>] = []
        while replies.count < 4, let chunk = try await stream.read() {
            for case .line(let line) in framer.push(chunk) {
                replies.append(try AgentProtocol.decoder().decode(ResponseEnvelope<Empty>.self, from: Data(line)))
            }
        }
        await stream.close()
        let codes = Set(replies.compactMap { $0.error?.code })
        #expect(codes == [.parseError, .messageTooLarge])
        #expect(replies.contains { $0.id == 6 && $0.result != nil })
    }

    @Test func subscribersReceiveEvents() async throws {
        let server = try await start()
        defer { server.task.cancel() }
        let client = AgentClient(stream: try FileDescriptorStream(socketPath: server.path))
        try await client.connect(client: "test")
        _ = try await client.call(AgentMethods.Subscribe.self, SubscribeParams(topics: [.inventoryChanged]))
        await server.events.publish(.vmState, InventoryChangedEvent(reason: "not subscribed"))
        await server.events.publish(.inventoryChanged, InventoryChangedEvent(reason: "test"))
        var iterator = client.events.makeAsyncIterator()
        let event = try #require(await iterator.next())
        #expect(event.topic == .inventoryChanged)
        #expect(try event.decode(InventoryChangedEvent.self).reason == "test")
        await client.close()
    }

    @Test func aSecondAgentDoesNotStealALiveSocket() async throws {
        let server = try await start()
        defer { server.task.cancel() }
        let second = AgentSocketServer(
            path: server.path, router: RequestRouter(), events: EventBus(), logger: Logger(label: "test"))
        await #expect(throws: AgentSocketServer.ServerError.self) { try await second.run() }
        #expect(UnixSocket.isServed(server.path))
    }
}
