import Foundation
import Testing
@testable import Shared

/// Several channels on one session, used at the same time; and how channels end.
@Suite(.serialized) struct SSHChannelTests {
    @Test func twoStreamLocalChannelsAndAnExecChannelRoundTripConcurrently() async throws {
        let server = try TestSSHServer.start()
        defer { server.stop() }
        let echo = try UnixEchoServer(path: server.directory.appendingPathComponent("agent.sock").path)
        defer { echo.stop() }
        let session = try await SSHSession.connect(to: server.endpoint, options: server.options(.acceptNew))

        let channels = [
            try await session.openStreamLocal(socketPath: echo.path),
            try await session.openStreamLocal(socketPath: echo.path),
            try await session.openExec("cat"),
        ]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, channel) in channels.enumerated() {
                group.addTask {
                    // Many small messages, then one larger than the SSH window.
                    for message in 0..<50 {
                        let line = Array("channel \(index) message \(message)\n".utf8)
                        try await channel.write(line)
                        #expect(try await Self.read(line.count, from: channel) == line)
                    }
                    let blob = (0..<700_000).map { UInt8(truncatingIfNeeded: $0 &+ index) }
                    async let sent: Void = channel.write(blob)
                    let received = try await Self.read(blob.count, from: channel)
                    try await sent
                    #expect(received == blob)
                }
            }
            try await group.waitForAll()
        }
        for channel in channels { await channel.close() }
        await session.close()
    }

    @Test func concurrentWritesOnOneChannelEachLandWhole() async throws {
        let server = try TestSSHServer.start()
        defer { server.stop() }
        let echo = try UnixEchoServer(path: server.directory.appendingPathComponent("agent.sock").path)
        defer { echo.stop() }
        let session = try await SSHSession.connect(to: server.endpoint, options: server.options(.acceptNew))
        let channel = try await session.openStreamLocal(socketPath: echo.path)

        let letters = Array("abcdefghijklmnopqrst".utf8)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for letter in letters {
                group.addTask { try await channel.write([UInt8](repeating: letter, count: 40_000) + [10]) }
            }
            try await group.waitForAll()
        }
        let echoed = try await Self.read(letters.count * 40_001, from: channel)
        let lines = echoed.split(separator: 10)
        #expect(lines.count == letters.count)
        #expect(lines.allSatisfy { line in line.count == 40_000 && line.allSatisfy { $0 == line.first } })
        #expect(Set(lines.compactMap(\.first)) == Set(letters))
        await channel.close()
        await session.close()
    }

    @Test func missingSocketIsAChannelOpenFailure() async throws {
        let server = try TestSSHServer.start()
        defer { server.stop() }
        let session = try await SSHSession.connect(to: server.endpoint, options: server.options(.acceptNew))
        do {
            _ = try await session.openStreamLocal(socketPath: "/nonexistent/agent.sock")
            Issue.record("opened a channel to a socket that does not exist")
        } catch let error as SSHError {
            guard case .channelOpenFailed(let host, let target, _) = error else { throw error }
            #expect(host == "testhost")
            #expect(target.contains("/nonexistent/agent.sock"))
        }
        // The session is still good.
        #expect(try await session.run("echo still").status == 0)
        await session.close()
    }

    @Test func closingEndsPendingReadsAndRefusesWrites() async throws {
        let server = try TestSSHServer.start()
        defer { server.stop() }
        let session = try await SSHSession.connect(to: server.endpoint, options: server.options(.acceptNew))
        let channel = try await session.openExec("cat")
        let pendingRead = Task { try await channel.read() }
        try await Task.sleep(for: .milliseconds(200))
        await channel.close()
        #expect(try await pendingRead.value == nil)
        await #expect(throws: SSHError.self) { try await channel.write([1]) }
        await channel.close()  // idempotent

        // Closing the session ends its channels too.
        let other = try await session.openExec("cat")
        let otherRead = Task { try await other.read() }
        try await Task.sleep(for: .milliseconds(200))
        await session.close()
        #expect(try await otherRead.value == nil)
    }

    @Test func readOnADeadLinkFailsWithinTheKeepaliveBound() async throws {
        let server = try TestSSHServer.start()
        defer { server.stop() }
        var options = server.options(.acceptNew)
        options.keepaliveInterval = 1
        options.keepaliveCountMax = 2  // dead after 3 s of silence
        let session = try await SSHSession.connect(to: server.endpoint, options: options)
        let channel = try await session.openExec("cat")
        try await channel.write(Array("ping\n".utf8))
        #expect(try await channel.read() == Array("ping\n".utf8))

        // Freeze the server's side of this connection: the kernel still ACKs, sshd says nothing.
        let frozen = server.connectionProcesses
        #expect(!frozen.isEmpty)
        for pid in frozen { kill(pid, SIGSTOP) }
        defer { for pid in frozen { kill(pid, SIGCONT) } }

        let started = ContinuousClock.now
        do {
            _ = try await channel.read()
            Issue.record("read returned on a dead link")
        } catch let error as SSHError {
            guard case .disconnected(let host, let reason) = error else { throw error }
            #expect(host == "testhost")
            #expect(reason.contains("keepalive"))
        }
        let elapsed = started.duration(to: .now)
        #expect(elapsed >= .seconds(2) && elapsed < .seconds(options.deadLinkAfter + 10))
        // Everything after fails the same way, at once.
        await #expect(throws: SSHError.self) { try await channel.write([1]) }
        await #expect(throws: SSHError.self) { try await session.openExec("true") }
        await session.close()
    }

    @Test func idleSessionIsKeptAliveByAnsweredKeepalives() async throws {
        let server = try TestSSHServer.start()
        defer { server.stop() }
        var options = server.options(.acceptNew)
        options.keepaliveInterval = 0.5
        options.keepaliveCountMax = 1  // would be declared dead after 1 s if keepalives went unanswered
        let session = try await SSHSession.connect(to: server.endpoint, options: options)
        let channel = try await session.openExec("cat")
        try await Task.sleep(for: .seconds(3))
        try await channel.write(Array("still here\n".utf8))
        #expect(try await channel.read() == Array("still here\n".utf8))
        #expect(try await session.run("echo ok").status == 0)
        await session.close()
    }

    /// Reads exactly `count` bytes (or fewer if the stream ends).
    static func read(_ count: Int, from channel: SSHChannel) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        while bytes.count < count, let chunk = try await channel.read() { bytes += chunk }
        return bytes
    }
}
