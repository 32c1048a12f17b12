import Foundation
import Shared
import Testing

extension LabSuite {
    /// `coord check` and `coord cpu-baseline` against the lab: h3 plays an
    /// Opteron G2 (the lab's default CPU level), each host's `local` pool is
    /// really its own directory, and memory is taken by a defined VM.
    @Suite struct CheckTests {
        let lab = Lab.shared

        struct Report: Decodable {
            struct Check: Decodable {
                var name: String
                var passed: Bool
                var detail: String
            }

            var vm: String
            var source: String
            var target: String
            var ok: Bool
            var checks: [Check]

            var failed: [String] { checks.filter { !$0.passed }.map(\.name) }
            subscript(name: String) -> Check? { checks.first { $0.name == name } }
        }

        func check(_ vm: String, to host: String) async throws -> (status: Int32, report: Report) {
            let out = try await lab.coord(["check", vm, "--to", host, "--json"])
            do {
                return (out.status, try AgentProtocol.decoder().decode(Report.self, from: Data(out.stdout)))
            } catch {
                throw LabFailure("coord check \(vm) --to \(host) printed no report (\(error)):\n\(out.stdoutText)\n\(out.stderrText)")
            }
        }

        /// Agents probe QEMU after they start; h3's level shows once they are done.
        func waitForProbes() async throws -> HostsOutput {
            for _ in 0..<120 {
                let hosts = try HostsOutput.parse(try await lab.coord(["hosts", "--json"]))
                let probed = lab.hostNames.allSatisfy { hosts[$0]?.inventory?.qemu != nil }
                if probed, hosts["h3"]?.inventory?.qemu?.cpuLevel == "Opteron_G2" { return hosts }
                try await Task.sleep(for: .seconds(1))
            }
            throw LabFailure("the agents did not finish probing QEMU, or h3 does not play Opteron_G2, within 120 s")
        }

        func tokenFiles(_ host: String) -> [String] {
            (try? FileManager.default.contentsOfDirectory(atPath: lab.hostDir(host) + "/local/.ferry-tokens")) ?? []
        }

        @Test func checksPassOrRefuseWithTheirReasonAndChangeNothing() async throws {
            try await lab.up()
            let names = ["it-chk", "it-chk-local", "it-chk-fill"]
            for name in names { await lab.removeVM(name) }
            _ = try await waitForProbes()

            // Westmere runs under TCG on h1 and h2, but not within h3's level.
            var guest = LabGuest(name: "it-chk", octet: 170)
            guest.cpuModel = "Westmere"
            guest.withNIC = false
            let create = try await lab.coord(["vm", "create", "-f", try guest.writeSpec(labDir: lab.labDir), "--host", "h1"])
            #expect(create.status == 0, "\(create.stderrText)")
            let before = try await lab.vmDetails("it-chk")
            #expect(before.info.host == "h1" && before.info.state == .running)

            do {
                let (status, toH2) = try await check("it-chk", to: "h2")
                #expect(status == 0 && toH2.ok, "\(toH2.checks.filter { !$0.passed })")
                #expect(toH2.vm == "it-chk" && toH2.source == "h1" && toH2.target == "h2")
                #expect(toH2["storage"]?.detail.contains("through libnfs") == true, "\(toH2["storage"]?.detail ?? "")")

                let (refused, toH3) = try await check("it-chk", to: "h3")
                #expect(refused != 0 && !toH3.ok)
                #expect(toH3.failed == ["cpu-model"], "\(toH3.checks.filter { !$0.passed })")
                let cpu = toH3["cpu-model"]?.detail ?? ""
                #expect(cpu.contains("CPU model Westmere cannot run on h3") && cpu.contains("aes") && cpu.contains("CPU level is Opteron_G2"), "\(cpu)")

                let human = try await lab.coord(["check", "it-chk", "--to", "h3"])
                #expect(human.status != 0)
                #expect(human.stdoutText.contains("REFUSED") && human.stdoutText.contains("cpu-model"), "\(human.stdoutText)")

                let (_, toItself) = try await check("it-chk", to: "h1")
                #expect(toItself.failed.contains("other-host"))

                try await notEnoughMemoryOnH2IsRefused()
                try await aDiskOnlyH1HasIsRefusedAndLeavesNoToken()
                try await badArgumentsAreRefusedBeforeAnyHostIsAsked()
                try await theBaselineNamesH3AsTheLimit()
            } catch {
                Issue.record(error)
            }

            // Nothing changed: the VM still runs on h1 alone, in the same QEMU.
            let after = try await lab.vmDetails("it-chk")
            #expect(after.info.host == "h1" && after.info.state == .running && after.info.pid == before.info.pid)
            #expect(try await lab.vmNames().filter { $0 == "it-chk" }.count == 1)
            for host in lab.hostNames { #expect(tokenFiles(host).isEmpty, "\(host) has token files left: \(tokenFiles(host))") }
            for name in names { await lab.removeVM(name) }
        }

        /// A VM defined on h2 (not started) holds all but 100 MiB of what h2 offers.
        func notEnoughMemoryOnH2IsRefused() async throws {
            let hosts = try HostsOutput.parse(try await lab.coord(["hosts", "--json"]))
            let free = try #require(hosts["h2"]?.inventory?.memory.availableBytes) >> 20
            try #require(free > 600, "h2 offers only \(free) MiB")
            var filler = LabGuest(name: "it-chk-fill", octet: 172)
            filler.memory = "\(free - 64 - 100)M"
            filler.withDisk = false
            filler.withNIC = false
            let out = try await lab.coord(["vm", "create", "-f", try filler.writeSpec(labDir: lab.labDir), "--host", "h2", "--no-start"])
            #expect(out.status == 0, "\(out.stderrText)")

            let (status, report) = try await check("it-chk", to: "h2")
            #expect(status != 0)
            #expect(report.failed == ["memory"], "\(report.checks.filter { !$0.passed })")
            let detail = report["memory"]?.detail ?? ""
            #expect(detail.contains("h2 has ") && detail.contains("needs 320 MiB"), "\(detail)")
            await lab.removeVM("it-chk-fill")
        }

        /// `local` is a shared-path pool on every host, but each host's own
        /// directory: h2 cannot read the token h1 writes beside the disk.
        func aDiskOnlyH1HasIsRefusedAndLeavesNoToken() async throws {
            var local = LabGuest(name: "it-chk-local", octet: 171)
            local.withDisk = false
            local.withNIC = false
            let disk = lab.labDir + "/local/it-chk-local.qcow2"
            let spec = try local.writeSpec(labDir: lab.labDir)
            try (try String(contentsOfFile: spec, encoding: .utf8) + "disks:\n  - {path: \"\(disk)\", format: qcow2, size: 16M}\n")
                .write(toFile: spec, atomically: true, encoding: .utf8)
            let out = try await lab.coord(["vm", "create", "-f", spec, "--host", "h1", "--no-start"])
            #expect(out.status == 0, "\(out.stderrText)")
            #expect(FileManager.default.fileExists(atPath: lab.hostDir("h1") + "/local/it-chk-local.qcow2"), "the disk is in h1's own directory")

            let (status, report) = try await check("it-chk-local", to: "h2")
            #expect(status != 0)
            #expect(report.failed == ["storage"], "\(report.checks.filter { !$0.passed })")
            let detail = report["storage"]?.detail ?? ""
            #expect(detail.contains("h2 does not see the token h1 wrote beside \(disk)"), "\(detail)")
            #expect(tokenFiles("h1").isEmpty && tokenFiles("h2").isEmpty)
            await lab.removeVM("it-chk-local")
        }

        func badArgumentsAreRefusedBeforeAnyHostIsAsked() async throws {
            let badName = try await lab.coord(["check", "a;rm -rf /", "--to", "h2"])
            #expect(badName.status != 0 && badName.stderrText.contains("not allowed"), "\(badName.stderrText)")
            let badHost = try await lab.coord(["check", "it-chk", "--to", "h9"])
            #expect(badHost.status != 0 && badHost.stderrText.contains("no host named 'h9'"), "\(badHost.stderrText)")
            let missing = try await lab.coord(["check", "it-nosuchvm", "--to", "h2"])
            #expect(missing.status != 0 && missing.stderrText.contains("no VM named it-nosuchvm"), "\(missing.stderrText)")
        }

        func theBaselineNamesH3AsTheLimit() async throws {
            struct Baseline: Decodable {
                struct Detail: Decodable {
                    var host: String
                    var cpuLevel: String?
                    var best: String?
                    var limits: Bool
                    var withoutIt: String?
                    var lacks: [String]?
                }

                var hosts: [String]
                var baseline: String?
                var hostDetails: [Detail]
            }
            let out = try await lab.coord(["cpu-baseline", "--json"])
            #expect(out.status == 0, "\(out.stderrText)")
            let result = try JSONDecoder().decode(Baseline.self, from: Data(out.stdout))
            #expect(result.hosts == lab.hostNames)
            #expect(result.baseline == "Opteron_G2")
            let limits = result.hostDetails.filter(\.limits)
            #expect(limits.map(\.host) == ["h3"] && limits.first?.withoutIt == "Westmere", "\(out.stdoutText)")
            #expect(limits.first?.lacks?.contains("aes") == true)

            let pair = try await lab.coord(["cpu-baseline", "h1", "h2"])
            #expect(pair.status == 0 && pair.stdoutText.contains("CPU baseline for h1, h2: Westmere"), "\(pair.stdoutText)")
        }
    }
}
