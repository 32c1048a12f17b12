import Foundation
import Testing
@testable import Shared

/// Exec channels against a real sshd.
@Suite(.serialized) struct SSHExecTests {
    @Test func echoReturnsOutputAndStatusZero() async throws {
        let server = try TestSSHServer.start()
        defer { server.stop() }
        let session = try await SSHSession.connect(to: server.endpoint, options: server.options(.acceptNew))
        let result = try await session.run("echo ferry-marker-7")
        #expect(result.status == 0)
        #expect(SSHTestTools.text(result.stdout) == "ferry-marker-7\n")
        // stderr may carry whatever root's shell start-up prints; only ours matters.
        #expect(!SSHTestTools.text(result.stderr).contains("ferry-marker"))
        #expect(session.hostKeyFingerprint == (try server.hostKeyFingerprint()))
        await session.close()
        #expect(server.log.contains("Accepted publickey for root"))
        // A clean close says goodbye rather than dropping the connection.
        for _ in 0..<50 where !server.log.contains("Received disconnect") { try await Task.sleep(for: .milliseconds(20)) }
        #expect(server.log.contains("Received disconnect"))
    }

    @Test func nonZeroExitStatusAndStderrAreReported() async throws {
        let server = try TestSSHServer.start()
        defer { server.stop() }
        let session = try await SSHSession.connect(to: server.endpoint, options: server.options(.acceptNew))
        let result = try await session.run("echo oops >&2; exit 3")
        #expect(result.status == 3)
        #expect(SSHTestTools.text(result.stderr).hasSuffix("oops\n"))
        #expect(result.stdout.isEmpty)
        await session.close()
    }

    @Test func stdinReachesTheCommandAndLargeOutputComesBack() async throws {
        let server = try TestSSHServer.start()
        defer { server.stop() }
        let session = try await SSHSession.connect(to: server.endpoint, options: server.options(.acceptNew))
        let input = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let counted = try await session.run("wc -c", stdin: input)
        #expect(SSHTestTools.text(counted.stdout).trimmingCharacters(in: .whitespacesAndNewlines) == "300000")

        // More than the SSH window and our inbound buffer: flow control must keep it moving.
        let echoed = try await session.run("cat", stdin: input)
        #expect(echoed.stdout == input)
        let big = try await session.run("head -c 5000000 /dev/zero")
        #expect(big.stdout.count == 5_000_000)
        await session.close()
    }

    @Test func sessionRunsCommandsConcurrently() async throws {
        let server = try TestSSHServer.start()
        defer { server.stop() }
        let session = try await SSHSession.connect(to: server.endpoint, options: server.options(.acceptNew))
        let outputs = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<6 {
                group.addTask { SSHTestTools.text(try await session.run("sleep 0.3; echo \(i)").stdout) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outputs.sorted() == (0..<6).map { "\($0)\n" })
        await session.close()
    }

    @Test func closedSessionRefusesNewChannels() async throws {
        let server = try TestSSHServer.start()
        defer { server.stop() }
        let session = try await SSHSession.connect(to: server.endpoint, options: server.options(.acceptNew))
        await session.close()
        await session.close()  // idempotent
        await #expect(throws: SSHError.self) { try await session.run("true") }
    }
}
