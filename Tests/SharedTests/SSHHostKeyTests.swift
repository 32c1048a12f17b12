import Foundation
import Testing
@testable import Shared

/// Host keys are checked against known_hosts before we authenticate.
@Suite(.serialized) struct SSHHostKeyTests {
    @Test func unknownKeyIsRefusedUnderStrictPolicy() async throws {
        let server = try TestSSHServer.start()
        defer { server.stop() }
        let fingerprint = try server.hostKeyFingerprint()
        do {
            _ = try await SSHSession.connect(to: server.endpoint, options: server.options(.strict))
            Issue.record("connected to a host with an unknown key")
        } catch {
            guard case .unknownHostKey(let host, _, _, _, let offered, let knownHosts) = error else { throw error }
            #expect(host == "testhost")
            #expect(offered == fingerprint)
            #expect(knownHosts == server.knownHostsPath)
            #expect(error.description.contains("testhost"))
            #expect(error.description.contains(fingerprint))
            #expect(error.description.contains("ssh-keyscan -p \(server.port) -t ed25519 127.0.0.1 >> \(server.knownHostsPath)"))
        }
        #expect(!FileManager.default.fileExists(atPath: server.knownHostsPath))
        #expect(!server.log.contains("Accepted publickey"))
    }

    @Test func acceptNewAddsTheKeyAndStrictTrustsItAfterwards() async throws {
        let server = try TestSSHServer.start()
        defer { server.stop() }
        let first = try await SSHSession.connect(to: server.endpoint, options: server.options(.acceptNew))
        #expect(first.hostKeyFingerprint == (try server.hostKeyFingerprint()))
        await first.close()

        let knownHosts = try String(contentsOfFile: server.knownHostsPath, encoding: .utf8)
        #expect(knownHosts == (try server.knownHostsLine()))

        let second = try await SSHSession.connect(to: server.endpoint, options: server.options(.strict))
        #expect(SSHTestTools.text(try await second.run("echo trusted").stdout) == "trusted\n")
        await second.close()
    }

    @Test(arguments: [HostKeyPolicy.strict, .acceptNew])
    func changedKeyIsRefusedBeforeAuthentication(policy: HostKeyPolicy) async throws {
        let server = try TestSSHServer.start()
        defer { server.stop() }
        let impostorKey = server.directory.appendingPathComponent("other_host_key").path
        try SSHTestTools.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", impostorKey])
        let recorded = try server.knownHostsLine(publicKeyPath: impostorKey + ".pub")
        try recorded.write(toFile: server.knownHostsPath, atomically: true, encoding: .utf8)
        let fingerprint = try server.hostKeyFingerprint()

        do {
            _ = try await SSHSession.connect(to: server.endpoint, options: server.options(policy))
            Issue.record("connected to a host whose key changed")
        } catch {
            guard case .changedHostKey(let host, _, _, _, let offered, _) = error else { throw error }
            #expect(host == "testhost")
            #expect(offered == fingerprint)
            #expect(error.description.contains("testhost") && error.description.contains(fingerprint))
            #expect(error.description.contains("ssh-keygen -R '[127.0.0.1]:\(server.port)'"))
        }
        #expect(try String(contentsOfFile: server.knownHostsPath, encoding: .utf8) == recorded)
        // Give sshd a moment to log the dropped connection, then check we never got as far as a key.
        try await Task.sleep(for: .milliseconds(300))
        let log = server.log
        #expect(log.contains("Connection from 127.0.0.1") || log.contains("Connection closed"))
        #expect(!log.contains("Accepted publickey"))
        #expect(!log.contains("Failed publickey"))
    }
}
