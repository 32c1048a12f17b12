import Foundation
import Shared
import Testing

extension LabSuite {
    /// Real QEMU guests on lab hosts, with disks on the lab's NFS server.
    @Suite struct VMTests {
        let lab = Lab.shared

        @Test func aVMOnNFSBootsAnswersPingAndSurvivesAnAgentRestart() async throws {
            try await lab.up()
            let guest = LabGuest(name: "it-boot", octet: 101)
            await lab.removeVM(guest.name)
            let spec = try guest.writeSpec(labDir: lab.labDir)

            let started = ContinuousClock.now
            let create = try await lab.coord(["vm", "create", "-f", spec, "--host", "h1"])
            #expect(create.status == 0, "create failed: \(create.stderrText)")
            let first = try await lab.waitForHeartbeat(guest.name)
            print("time from coord vm create to first heartbeat read back: \(ContinuousClock.now - started)")
            #expect(first.info.host == "h1" && first.info.state == .running)
            #expect(first.guest.ready && first.guest.intact)
            #expect(FileManager.default.fileExists(atPath: lab.labDir + "/storage/export/\(guest.name).qcow2"), "disk should be on the NFS export")

            let ping = try await lab.run("/usr/bin/ping", ["-c", "3", "-W", "2", guest.address], timeout: 30)
            #expect(ping.status == 0, "guest does not answer ping: \(ping.stdoutText)")
            // The guest's tap must not become the host's address on br0 (a
            // bridge follows its lowest port's MAC); the host keeps eth0's.
            let macs = try await lab.lab("exec", "h1", "cat", "/sys/class/net/br0/address", "/sys/class/net/eth0/address")
            let pair = macs.stdoutText.split(separator: "\n")
            #expect(pair.count == 2 && pair[0] == pair[1], "h1's br0 took another MAC than eth0's with a guest on it: \(macs.stdoutText)")

            // The agent goes away and comes back; QEMU and the guest carry on.
            let pid = try #require(first.info.pid)
            // QEMU outlives the agent, so it must hold none of the agent's
            // sockets (its listener, coordinators' connections, QMP links).
            let agentPID = try String(contentsOfFile: lab.hostDir("h1") + "/agent.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let shared = openSockets(of: "\(pid)").intersection(openSockets(of: agentPID))
            #expect(shared.isEmpty, "QEMU inherited the agent's sockets: \(shared.sorted())")
            _ = try await lab.lab("agent", "restart", "h1")
            let after = try await lab.waitForHeartbeat(guest.name, beyond: first.guest.lastHeartbeat ?? 0)
            #expect(after.info.pid == pid, "QEMU pid changed across an agent restart")
            #expect(after.info.host == "h1" && after.info.state == .running)
            #expect(try await lab.vmNames().filter { $0 == guest.name }.count == 1)

            let stop = try await lab.coord(["vm", "stop", guest.name, "--timeout", "2"])
            #expect(stop.status == 0, "\(stop.stderrText)")
            #expect(!isRunning(pid), "QEMU still runs after vm stop")
            #expect(try await lab.vmDetails(guest.name).info.state == .stopped)

            let delete = try await lab.coord(["vm", "delete", guest.name])
            #expect(delete.status == 0, "\(delete.stderrText)")
            #expect(!FileManager.default.fileExists(atPath: lab.hostDir("h1") + "/state/vms/\(guest.name)"))
            #expect(!FileManager.default.fileExists(atPath: lab.labDir + "/storage/export/\(guest.name).qcow2"))
            #expect(try await lab.vmNames().contains(guest.name) == false)
        }

        @Test(arguments: ["a;rm -rf /", "../x", "-rf", "$(reboot)", ""])
        func hostileNamesAreRefusedAndNothingIsCreated(name: String) async throws {
            try await lab.up()
            let before = try exportFiles()
            var guest = LabGuest(name: "placeholder", octet: 150)
            guest.withNIC = false
            let spec = try guest.writeSpec(labDir: lab.labDir)
            let text = try String(contentsOfFile: spec, encoding: .utf8).replacingOccurrences(of: "name: \"placeholder\"", with: "name: \"\(name.replacingOccurrences(of: "\"", with: "\\\""))\"")
            try text.write(toFile: spec, atomically: true, encoding: .utf8)

            let create = try await lab.coord(["vm", "create", "-f", spec, "--host", "h1"])
            #expect(create.status != 0)
            #expect(create.stderrText.contains("not allowed"), "\(create.stderrText)")
            let show = try await lab.coord(["vm", "show", name])
            #expect(show.status != 0)
            #expect(try exportFiles() == before, "a disk was created for a refused VM")
            for host in lab.hostNames {
                let vms = (try? FileManager.default.contentsOfDirectory(atPath: lab.hostDir(host) + "/state/vms")) ?? []
                #expect(!vms.contains { $0.contains("rm") || $0.contains("..") || $0.contains("reboot") })
            }
        }

        @Test func aVMTheHostCannotRunIsRefusedWithTheReasonAndNothingChanges() async throws {
            try await lab.up()
            let before = try exportFiles()
            var big = LabGuest(name: "it-big", octet: 151)
            big.memory = "8G"
            big.withNIC = false
            let explicit = try await lab.coord(["vm", "create", "-f", try big.writeSpec(labDir: lab.labDir), "--host", "h2"])
            #expect(explicit.status != 0)
            #expect(explicit.stderrText.contains("h2 has") && explicit.stderrText.contains("needs"), "\(explicit.stderrText)")

            let auto = try await lab.coord(["vm", "create", "-f", try big.writeSpec(labDir: lab.labDir)])
            #expect(auto.status != 0)
            for host in lab.hostNames { #expect(auto.stderrText.contains("\(host): needs"), "\(auto.stderrText)") }

            var hostCPU = LabGuest(name: "it-hostcpu", octet: 152)
            hostCPU.cpuModel = "host"
            let refused = try await lab.coord(["vm", "create", "-f", try hostCPU.writeSpec(labDir: lab.labDir), "--host", "h1"])
            #expect(refused.status != 0)
            #expect(refused.stderrText.contains("cannot migrate"), "\(refused.stderrText)")

            #expect(try exportFiles() == before)
            let left = try await lab.vmNames().filter { $0.hasPrefix("it-") }
            #expect(left.isEmpty, "VMs left by earlier tests or by this one: \(left)")
        }

        @Test func aCreateWhoseQEMUCannotStartLeavesNothingBehind() async throws {
            try await lab.up()
            let before = try exportFiles()
            var broken = LabGuest(name: "it-nokernel", octet: 153)
            broken.withNIC = false
            let spec = try broken.writeSpec(labDir: lab.labDir)
            let text = try String(contentsOfFile: spec, encoding: .utf8).replacingOccurrences(of: "/guest/vmlinux", with: "/guest/no-such-kernel")
            try text.write(toFile: spec, atomically: true, encoding: .utf8)
            let out = try await lab.coord(["vm", "create", "-f", spec, "--host", "h1"])
            #expect(out.status != 0)
            #expect(out.stderrText.contains("QEMU could not start it-nokernel") && out.stderrText.contains("no-such-kernel"), "\(out.stderrText)")
            #expect(try await lab.vmNames().contains("it-nokernel") == false)
            #expect(try exportFiles() == before, "the disk made for it was left behind")
            #expect(!FileManager.default.fileExists(atPath: lab.hostDir("h1") + "/state/vms/it-nokernel"))
        }

        /// A dead process may linger as a zombie until init reaps it; that is not running.
        func isRunning(_ pid: Int32) -> Bool {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
            return !stat[close...].hasPrefix(") Z")
        }

        func exportFiles() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: lab.labDir + "/storage/export").sorted()
        }
    }
}

/// The sockets a process holds open, as /proc names them ("socket:[inode]").
private func openSockets(of pid: String) -> Set<String> {
    let dir = "/proc/\(pid)/fd"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    return Set(names.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/" + $0) }.filter { $0.hasPrefix("socket:") })
}
