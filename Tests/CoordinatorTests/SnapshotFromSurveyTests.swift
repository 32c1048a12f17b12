import Foundation
import Shared
import Testing
@testable import Coordinator

@Suite struct SnapshotFromSurveyTests {
    @Test func upHostsAndTheirVMsBecomeTheSnapshotDownHostsAreLeftOut() throws {
        var inventory = PlacementTests.inventory(name: "h1", freeMiB: 3000)
        inventory.vms = [VMSummary(
            name: "vm1", state: "running", memoryBytes: 256 << 20, vcpus: 1, pid: 42, cpuModel: "qemu64",
            machineType: "pc-q35-7.2", disks: ["nfs://198.51.100.2/ferry/vm1.qcow2"])]
        let reports = [
            HostReport(name: "h1", address: "198.51.100.11", state: .up, inventory: inventory),
            HostReport(name: "h2", address: "198.51.100.12", state: .down, reason: "refused"),
        ]
        let snapshot = ClusterSnapshot(reports: reports, takenAt: Date(timeIntervalSince1970: 0))
        #expect(snapshot.hosts.map(\.name) == ["h1"])
        #expect(snapshot.hosts[0].memoryAvailableBytes == 3000 << 20)
        #expect(snapshot.hosts[0].cpuModels == ["qemu64"] && snapshot.hosts[0].machineTypes == ["pc-q35-7.2"])
        #expect(snapshot.hosts[0].storage == ["nfs://198.51.100.2/ferry"])
        #expect(snapshot.vms.map(\.name) == ["vm1"] && snapshot.vms[0].host == "h1" && snapshot.vms[0].cpuModel == "qemu64")
        // It round-trips through the documented JSON.
        #expect(try ClusterSnapshot.decode(snapshot.encoded()) == snapshot)
    }
}
