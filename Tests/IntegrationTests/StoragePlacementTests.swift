import Foundation
import Shared
import Testing

extension LabSuite {
    /// A host that cannot reach the NFS pool says so, and gets no VM whose disk
    /// lives there, even when it is otherwise the best choice.
    @Suite struct StoragePlacementTests {
        let lab = Lab.shared

        func poolReachable(on host: String) async throws -> Bool? {
            let hosts = try HostsOutput.parse(try await lab.coord(["hosts", "--json"]))
            return hosts[host]?.inventory?.storagePools.first { $0.name == "shared" }?.reachable
        }

        func waitForPool(on host: String, reachable: Bool) async throws {
            for _ in 0..<60 {
                if try await poolReachable(on: host) == reachable { return }
                try await Task.sleep(for: .seconds(1))
            }
            throw LabFailure("\(host)'s pool did not become \(reachable ? "reachable" : "unreachable") within 60 s")
        }

        func createdHost(_ out: ProcessRunner.Output) throws -> String {
            guard out.status == 0 else { throw LabFailure("create failed: \(out.stderrText)") }
            return try AgentProtocol.decoder().decode(VMInfo.self, from: Data(out.stdout)).host
        }

        @Test func theLiveClusterSnapshotFeedsOfflinePlanning() async throws {
            try await lab.up()
            await lab.removeVM("it-snap")
            var guest = LabGuest(name: "it-snap", octet: 162)
            guest.withNIC = false
            guest.withDisk = false
            #expect(try await lab.coord(["vm", "create", "-f", try guest.writeSpec(labDir: lab.labDir), "--host", "h2", "--no-start"]).status == 0)
            struct Snapshot: Decodable {
                struct Host: Decodable { var name: String; var cpuModels: [String]; var storage: [String] }
                struct VM: Decodable { var name: String; var host: String; var cpuModel: String; var machineType: String }
                var hosts: [Host]
                var vms: [VM]
            }
            // Agents may still be probing, and pools are re-checked every 10 s
            // (an earlier test may have just given h3 its route back): wait for that.
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-snap-\(UUID().uuidString.prefix(8)).json").path
            defer { try? FileManager.default.removeItem(atPath: file) }
            var snapshot = Snapshot(hosts: [], vms: [])
            for _ in 0..<90 {
                let out = try await lab.coord(["snapshot", "--output", file])
                #expect(out.status == 0, "\(out.stderrText)")
                snapshot = try JSONDecoder().decode(Snapshot.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
                if snapshot.hosts.allSatisfy({ !$0.cpuModels.isEmpty && !$0.storage.isEmpty }) { break }
                try await Task.sleep(for: .seconds(2))
            }
            #expect(snapshot.hosts.map(\.name) == lab.hostNames)
            // Every host also has its `local` pool (docs/lab.md), which the planner takes at its word.
            #expect(snapshot.hosts.allSatisfy { $0.cpuModels.contains("qemu64") && $0.storage.first == "nfs://198.51.100.2/ferry" })
            let vm = try #require(snapshot.vms.first { $0.name == "it-snap" })
            #expect(vm.host == "h2" && vm.cpuModel == "qemu64" && vm.machineType == "pc-i440fx-7.2")
            let plan = try await lab.coord(["balance", "--snapshot", file, "--json"])
            #expect(plan.status == 0, "\(plan.stderrText)")
            await lab.removeVM("it-snap")
        }

        @Test func anUnreachablePoolIsReportedAndAutoPlacementAvoidsIt() async throws {
            try await lab.up()
            let names = ["it-fill1", "it-fill2", "it-placed"]
            for name in names { await lab.removeVM(name) }
            _ = try? await lab.lab("exec", "h3", "ip", "route", "del", "blackhole", "198.51.100.2/32")
            try await waitForPool(on: "h3", reachable: true)

            // Defined (not started) VMs hold memory on h1 and h2, so h3 has the most free.
            for (name, host) in [("it-fill1", "h1"), ("it-fill2", "h2")] {
                var filler = LabGuest(name: name, octet: 160)
                filler.withDisk = false
                filler.withNIC = false
                let out = try await lab.coord(["vm", "create", "-f", try filler.writeSpec(labDir: lab.labDir), "--host", host, "--no-start"])
                #expect(out.status == 0, "\(out.stderrText)")
            }
            var placed = LabGuest(name: "it-placed", octet: 161)
            placed.withNIC = false
            let spec = try placed.writeSpec(labDir: lab.labDir)
            #expect(try createdHost(try await lab.coord(["vm", "create", "-f", spec, "--no-start", "--json"])) == "h3")
            #expect(try await lab.coord(["vm", "delete", "it-placed"]).status == 0)

            // h3 loses its route to the storage server.
            _ = try await lab.lab("exec", "h3", "ip", "route", "add", "blackhole", "198.51.100.2/32")
            do {
                try await waitForPool(on: "h3", reachable: false)
                let table = try await lab.coord(["hosts"])
                #expect(table.stdoutText.contains("h3: storage pool shared unreachable"), "\(table.stdoutText)")
                let host = try createdHost(try await lab.coord(["vm", "create", "-f", spec, "--no-start", "--json"]))
                #expect(host != "h3", "placed on a host that cannot reach the VM's disk")
            } catch {
                Issue.record(error)
            }
            _ = try? await lab.lab("exec", "h3", "ip", "route", "del", "blackhole", "198.51.100.2/32")
            for name in names { await lab.removeVM(name) }
        }
    }
}
