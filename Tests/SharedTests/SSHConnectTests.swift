import Foundation
import Testing
@testable import Shared

/// Connecting and authenticating: failures must be quick, typed and say where.
@Suite(.serialized) struct SSHConnectTests {
    @Test func wrongIdentityIsAnAuthenticationFailureNamingHostAndUser() async throws {
        let server = try TestSSHServer.start()
        defer { server.stop() }
        let strangerKey = server.directory.appendingPathComponent("stranger_key").path
        try SSHTestTools.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", strangerKey])
        do {
            _ = try await SSHSession.connect(to: server.endpoint, options: server.options(.acceptNew, identityFile: strangerKey))
            Issue.record("connected with a key the server does not know")
        } catch {
            guard case .authenticationFailed(let host, let user, _) = error else { throw error }
            #expect(host == "testhost")
            #expect(user == "root")
            #expect(error.description.contains("testhost") && error.description.contains("root"))
        }
        #expect(!server.log.contains("Accepted publickey"))
    }

    @Test func sshAgentIsUsedWhenNoIdentityFileIsGiven() async throws {
        let server = try TestSSHServer.start()
        defer { server.stop() }
        let socket = server.directory.appendingPathComponent("agent.sock").path
        let agent = try Daemon("/usr/bin/ssh-agent", ["-D", "-a", socket])
        defer { agent.stop() }
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: socket) { usleep(20_000) }

        var options = server.options(.acceptNew)
        options.identityFile = nil
        options.agentSocket = socket
        // An empty agent: refused.
        await #expect(throws: SSHError.self) { try await SSHSession.connect(to: server.endpoint, options: options) }

        try SSHTestTools.run("/usr/bin/ssh-add", ["-q", server.clientKeyPath], environment: ["SSH_AUTH_SOCK": socket])
        let session = try await SSHSession.connect(to: server.endpoint, options: options)
        #expect(SSHTestTools.text(try await session.run("echo agent").stdout) == "agent\n")
        await session.close()
    }

    @Test func refusedConnectionFailsFast() async throws {
        let port = try SSHTestTools.freePort()
        let directory = try SSHTestTools.makeTemporaryDirectory("ferry-ssh")
        defer { try? FileManager.default.removeItem(at: directory) }
        let endpoint = SSHEndpoint(name: "downhost", address: "127.0.0.1", port: port)
        let options = SSHOptions(knownHostsPath: directory.appendingPathComponent("known_hosts").path,
                                 identityFile: "/nonexistent", connectTimeout: 30)
        let started = ContinuousClock.now
        do {
            _ = try await SSHSession.connect(to: endpoint, options: options)
            Issue.record("connected to a closed port")
        } catch {
            guard case .connectFailed(let host, let address, _) = error else { throw error }
            #expect(host == "downhost" && address == "127.0.0.1")
        }
        #expect(started.duration(to: .now) < .seconds(10))  // refused: no waiting for the 30 s connect timeout
    }

    @Test func silentServerTimesOutWithinTheConnectTimeout() async throws {
        // Accepts TCP connections (the kernel does) but never says a word.
        let (listener, port) = try SSHTestTools.boundSocket(listening: true)
        defer { close(listener) }
        let directory = try SSHTestTools.makeTemporaryDirectory("ferry-ssh")
        defer { try? FileManager.default.removeItem(at: directory) }
        let endpoint = SSHEndpoint(name: "mutehost", address: "127.0.0.1", port: port)
        let options = SSHOptions(knownHostsPath: directory.appendingPathComponent("known_hosts").path,
                                 identityFile: "/nonexistent", connectTimeout: 1.5)
        let started = ContinuousClock.now
        do {
            _ = try await SSHSession.connect(to: endpoint, options: options)
            Issue.record("connected to a server that never spoke")
        } catch {
            guard case .timedOut(let host, let stage, let seconds) = error else { throw error }
            #expect(host == "mutehost")
            #expect(stage == "ssh-banner")
            #expect(seconds == 1.5)
        }
        let elapsed = started.duration(to: .now)
        #expect(elapsed >= .seconds(1.4) && elapsed < .seconds(12))
    }
}
