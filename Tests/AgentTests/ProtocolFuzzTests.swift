import Foundation
import Shared
import Testing
@testable import Agent

/// Random, truncated and mutated input to the agent's request decoder: every
/// frame must get exactly one well-formed reply and nothing may crash.
@Suite struct ProtocolFuzzTests {
    /// SplitMix64: a seeded generator, so a failure can be replayed.
    struct SeededRandom: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func makeRouter() -> RequestRouter {
        let config = AgentConfig(name: "fuzz", qemuBinary: "/nonexistent/qemu")
        let inventory = InventoryService(config: config, events: EventBus(), logger: .init(label: "fuzz"))
        return AgentAPI.router(hostName: "fuzz", inventory: inventory, vms: VMSupervisor(config: config, logger: .init(label: "fuzz"), host: inventory))
    }

    static func greetedConnection() async -> AgentConnection {
        let connection = AgentConnection(events: EventBus()) { _ in }
        await connection.markGreeted()
        return connection
    }

    static func decodeReply(_ reply: [UInt8]) throws -> ResponseEnvelope<Empty> {
        #expect(reply.last == UInt8(ascii: "\n"))
        #expect(reply.dropLast().contains(UInt8(ascii: "\n")) == false)
        return try AgentProtocol.decoder().decode(ResponseEnvelope<Empty>.self, from: Data(reply))
    }

    @Test(arguments: [1, 2, 3])
    func randomBytesGetErrorReplies(seed: UInt64) async throws {
        var random = SeededRandom(state: seed)
        let router = Self.makeRouter()
        let connection = await Self.greetedConnection()
        for _ in 0..<1500 {
            let length = Int.random(in: 1...400, using: &random)
            let line = (0..<length).map { _ in
                var byte = UInt8.random(in: 0...255, using: &random)
                if byte == UInt8(ascii: "\n") { byte = 0 }
                return byte
            }
            let reply = try Self.decodeReply(await router.reply(to: .line(line), on: connection))
            #expect(reply.error != nil, "seed \(seed): random line was accepted: \(line)")
        }
    }

    @Test func everyTruncationOfValidRequestsIsAnError() async throws {
        let router = Self.makeRouter()
        let connection = await Self.greetedConnection()
        let requests = [
            #"{"id":7,"method":"ping","params":{}}"#,
            #"{"id":8,"method":"hello","params":{"versions":[1],"client":"fuzz"}}"#,
            #"{"id":9,"method":"subscribe","params":{"topics":["vm.state"]}}"#,
        ]
        for request in requests {
            let bytes = Array(request.utf8)
            let whole = try Self.decodeReply(await router.reply(to: .line(bytes), on: connection))
            #expect(whole.error == nil, "\(request) should be accepted: \(String(describing: whole.error))")
            for length in 1..<bytes.count {
                let reply = try Self.decodeReply(await router.reply(to: .line(Array(bytes[..<length])), on: connection))
                #expect(reply.error != nil, "truncated at \(length): \(String(decoding: bytes[..<length], as: UTF8.self))")
            }
        }
    }

    @Test func mutatedRequestsAlwaysGetOneWellFormedReply() async throws {
        var random = SeededRandom(state: 42)
        let router = Self.makeRouter()
        let connection = await Self.greetedConnection()
        let base = Array(#"{"id":12,"method":"hello","params":{"versions":[1],"client":"fuzz"}}"#.utf8)
        for _ in 0..<2000 {
            var line = base
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let index = Int.random(in: 0..<line.count, using: &random)
                line[index] = UInt8.random(in: 0x20...0x7e, using: &random)
            }
            let reply = try Self.decodeReply(await router.reply(to: .line(line), on: connection))
            #expect(reply.id == nil || reply.id == 12 || reply.error != nil)
        }
    }

    @Test func hostileShapesAreRefusedWithReasons() async throws {
        let router = Self.makeRouter()
        let fresh = AgentConnection(events: EventBus()) { _ in }
        let greeted = await Self.greetedConnection()
        let cases: [(String, AgentConnection, AgentError.Code)] = [
            (#"{"id":1,"method":"inventory"}"#, fresh, .handshakeRequired),
            (#"{"id":1,"method":"hello","params":{"versions":[99],"client":"x"}}"#, fresh, .unsupportedVersion),
            (#"{"id":1,"method":"launch-missiles","params":{}}"#, greeted, .unknownMethod),
            (#"{"id":1,"method":"subscribe","params":{"topics":"vm.state"}}"#, greeted, .invalidParams),
            (#"{"id":-1,"method":"ping"}"#, greeted, .parseError),
            (#"[1,2,3]"#, greeted, .parseError),
            (String(repeating: "[", count: 100_000), greeted, .parseError),
            (#"{"id":1,"method":"ping","params":{}}garbage"#, greeted, .parseError),
        ]
        for (line, connection, code) in cases {
            let reply = try Self.decodeReply(await router.reply(to: .line(Array(line.utf8)), on: connection))
            #expect(reply.error?.code == code, "\(line.prefix(80)): got \(String(describing: reply.error))")
            #expect(reply.error?.message.isEmpty == false)
        }
        let oversized = try Self.decodeReply(await router.reply(to: .oversized, on: greeted))
        #expect(oversized.error?.code == .messageTooLarge)
    }
}
