import Foundation
import Shared
import Testing

extension LabSuite {
    /// `coord hosts` against real lab hosts over real SSH.
    @Suite struct HostsTests {
        let lab = Lab.shared

        /// Polls until every host is up and its probes have finished.
        func probedHosts() async throws -> HostsOutput {
            try await lab.up()
            let deadline = ContinuousClock.now + .seconds(180)
            var last: HostsOutput?
            while ContinuousClock.now < deadline {
                let out = try await lab.coord(["hosts", "--json"])
                #expect(out.status == 0, "coord hosts failed: \(out.stderrText)")
                let hosts = try HostsOutput.parse(out)
                last = hosts
                let settled = hosts.hosts.allSatisfy { $0.state == "up" && $0.inventory?.accelerator.kind != .probing }
                if settled && hosts.hosts.count == lab.hostCount { return hosts }
                try await Task.sleep(for: .seconds(2))
            }
            throw LabFailure("hosts did not all come up with finished probes: \(String(describing: last?.hosts.map { ($0.name, $0.state, $0.reason) }))")
        }

        @Test func everyHostReportsItsInventory() async throws {
            let hosts = try await probedHosts()
            #expect(hosts.hosts.map(\.name) == lab.hostNames)
            for host in hosts.hosts {
                let inventory = try #require(host.inventory, "\(host.name) has no inventory")
                #expect(inventory.host == host.name)
                #expect(inventory.cpu.flags.contains("sse2"), "\(host.name) CPU flags: \(inventory.cpu.flags)")
                #expect(inventory.cpu.count > 0)
                #expect(inventory.memory.totalBytes == 4096 << 20, "lab hosts offer 4096 MiB")
                #expect(inventory.memory.availableBytes > 0)
                let qemu = try #require(inventory.qemu, "\(host.name): \(inventory.qemuError ?? "")")
                #expect(qemu.version.hasPrefix("7.2"))
                #expect(qemu.machineTypes.contains { $0.name == "pc-q35-7.2" })
                #expect(qemu.runnableCPUModels.contains("qemu64"))
                #expect([.tcg, .kvm].contains(inventory.accelerator.kind))
                #expect(!inventory.accelerator.detail.isEmpty)
            }
            let table = try await lab.coord(["hosts"])
            #expect(table.status == 0)
            for name in lab.hostNames { #expect(table.stdoutText.contains("\n\(name) ")) }
        }

        @Test func aHostWithoutSSHIsDownWithAReasonAndTheOthersAnswer() async throws {
            _ = try await probedHosts()
            _ = try await lab.lab("sshd", "stop", "h3")
            let hosts = try HostsOutput.parse(try await lab.coord(["hosts", "--json"]))
            _ = try await lab.lab("sshd", "start", "h3")
            #expect(hosts["h1"]?.state == "up" && hosts["h2"]?.state == "up")
            #expect(hosts["h3"]?.state == "down")
            let reason = try #require(hosts["h3"]?.reason)
            #expect(reason.contains("198.51.100.13"), "reason should name the address: \(reason)")
            #expect(reason.lowercased().contains("refused"), "reason should say the connection was refused: \(reason)")

            let show = try await lab.coord(["host", "show", "h3"])
            #expect(show.status == 0, "h3 should be back after sshd start: \(show.stdoutText)")
        }

        @Test func aChangedHostKeyIsRefusedWithItsFingerprintBeforeAnythingIsSent() async throws {
            _ = try await probedHosts()
            let sshdLog = lab.hostDir("h1") + "/sshd.log"
            let acceptedBefore = try acceptedLogins(sshdLog)

            // known_hosts with a different key for h1.
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-keys-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let keygen = try await lab.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", dir + "/impostor"], timeout: 30)
            #expect(keygen.status == 0)
            let impostor = try String(contentsOfFile: dir + "/impostor.pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
            let real = try String(contentsOfFile: lab.labDir + "/ssh/known_hosts", encoding: .utf8)
            let forged = real.split(separator: "\n").map { line in
                line.hasPrefix("198.51.100.11 ") ? "198.51.100.11 \(impostor)" : String(line)
            }.joined(separator: "\n") + "\n"
            try forged.write(toFile: dir + "/known_hosts", atomically: true, encoding: .utf8)

            let out = try await lab.coord(["hosts", "--json"], config: try lab.writeConfig(knownHosts: dir + "/known_hosts"))
            let hosts = try HostsOutput.parse(out)
            #expect(hosts["h2"]?.state == "up")
            #expect(hosts["h1"]?.state == "down")
            let reason = try #require(hosts["h1"]?.reason)
            let fingerprint = try await fingerprintOf(lab.hostDir("h1") + "/ssh_host_ed25519_key.pub")
            #expect(reason.contains(fingerprint), "reason should carry the server's key \(fingerprint): \(reason)")
            #expect(reason.contains("h1"))
            #expect(try acceptedLogins(sshdLog) == acceptedBefore, "coord authenticated to a host whose key did not match")
        }

        @Test func unknownKeysAreRefusedUnlessAcceptNewIsChosen() async throws {
            _ = try await probedHosts()
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-kh-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let knownHosts = dir + "/known_hosts"
            _ = FileManager.default.createFile(atPath: knownHosts, contents: Data())

            let strict = try HostsOutput.parse(try await lab.coord(["hosts", "--json"], config: try lab.writeConfig(knownHosts: knownHosts)))
            for host in strict.hosts {
                #expect(host.state == "down")
                #expect(host.reason?.contains("SHA256:") == true, "\(host.name): \(host.reason ?? "")")
            }
            #expect(try String(contentsOfFile: knownHosts, encoding: .utf8).isEmpty, "strict policy must not write known_hosts")

            let acceptNew = try lab.writeConfig(knownHosts: knownHosts, policy: "accept-new")
            let accepted = try HostsOutput.parse(try await lab.coord(["hosts", "--json"], config: acceptNew))
            #expect(accepted.hosts.allSatisfy { $0.state == "up" }, "\(accepted.hosts.map { ($0.name, $0.reason) })")
            let recorded = try String(contentsOfFile: knownHosts, encoding: .utf8).split(separator: "\n")
            #expect(recorded.count == lab.hostCount)

            // Now recorded, the keys are trusted under the strict policy too.
            let again = try HostsOutput.parse(try await lab.coord(["hosts", "--json"], config: try lab.writeConfig(knownHosts: knownHosts)))
            #expect(again.hosts.allSatisfy { $0.state == "up" })
        }

        @Test func theExecTransportReachesTheAgentWhereForwardingIsOff() async throws {
            _ = try await probedHosts()
            let config = try lab.writeConfig(knownHosts: lab.labDir + "/ssh/known_hosts", transport: "exec")
            let hosts = try HostsOutput.parse(try await lab.coord(["hosts", "--json"], config: config))
            #expect(hosts.hosts.allSatisfy { $0.state == "up" }, "\(hosts.hosts.map { ($0.name, $0.reason) })")
        }

        @Test func aStoppedAgentIsReportedAsSuch() async throws {
            _ = try await probedHosts()
            _ = try await lab.lab("agent", "stop", "h2")
            let hosts = try HostsOutput.parse(try await lab.coord(["hosts", "--json"]))
            _ = try await lab.lab("agent", "start", "h2")
            #expect(hosts["h2"]?.state == "down")
            #expect(hosts["h2"]?.reason?.contains("agent") == true, "\(hosts["h2"]?.reason ?? "")")
            #expect(hosts["h1"]?.state == "up")
        }

        func acceptedLogins(_ log: String) throws -> Int {
            try String(contentsOfFile: log, encoding: .utf8).components(separatedBy: "Accepted publickey").count - 1
        }

        func fingerprintOf(_ publicKey: String) async throws -> String {
            let out = try await lab.run("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", publicKey], timeout: 30)
            return String(out.stdoutText.split(separator: " ")[1])
        }
    }
}
