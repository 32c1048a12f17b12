import Foundation
import Testing
@testable import Agent

@Suite struct AgentConfigTests {
    func load(_ yaml: String) throws -> AgentConfig {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("agent-\(UUID()).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try AgentConfig.load(path: path)
    }

    @Test func fullConfig() throws {
        let config = try load("""
            name: h1
            socket: /run/x/agent.sock
            stateDir: /var/lib/x
            memoryMiB: 4096
            accelerator: tcg
            storagePools:
              - {name: shared, kind: nfs, url: "nfs://198.51.100.2/ferry"}
            """)
        #expect(config.name == "h1" && config.memoryMiB == 4096 && config.accelerator == .tcg)
        #expect(config.storagePools.first?.url == "nfs://198.51.100.2/ferry")
        #expect(config.qemuBinary == "qemu-system-x86_64")
    }

    @Test func refusesUnsafeNamesAndRelativePaths() {
        #expect(throws: ConfigError.self) { try load("name: \"a;rm -rf /\"") }
        #expect(throws: ConfigError.self) { try load("name: ../x") }
        #expect(throws: ConfigError.self) { try load("socket: relative.sock") }
        #expect(throws: ConfigError.self) { try load("accelerator: warp") }
        #expect(throws: ConfigError.self) { try load("memoryMiB: 0") }
        #expect(throws: ConfigError.self) { try load("cpuLevel: max") }
        #expect(throws: ConfigError.self) { try load("cpuLevel: \"Westmere,+avx2\"") }
    }

    @Test func cpuLevelIsOptional() throws {
        #expect(try load("name: h1").cpuLevel == nil)
        #expect(try load("cpuLevel: Westmere").cpuLevel == "Westmere")
    }

    @Test func missingExplicitFileIsAnError() {
        #expect(throws: ConfigError.self) { try AgentConfig.load(path: "/nonexistent/agent.yaml") }
    }
}
