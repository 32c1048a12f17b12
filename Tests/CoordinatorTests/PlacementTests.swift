import Foundation
import Shared
import Testing
@testable import Coordinator

@Suite struct PlacementTests {
    static func inventory(name: String, freeMiB: UInt64, totalMiB: UInt64 = 4096, models: [CPUModel] = [CPUModel(name: "qemu64", unavailableFeatures: [])],
                          pools: [StoragePoolStatus] = [StoragePoolStatus(name: "shared", kind: "nfs", location: "nfs://198.51.100.2/ferry", reachable: true)]) -> HostInventory {
        HostInventory(
            host: name, agentVersion: "0.1.0", cpu: CPUInventory(vendor: "x", model: "x", flags: [], count: 2, utilisation: 0),
            memory: MemoryInventory(totalBytes: totalMiB << 20, availableBytes: freeMiB << 20), load: LoadAverage(one: 0, five: 0, fifteen: 0),
            qemu: QEMUInventory(binary: "qemu", version: "7.2.22", machineTypes: [MachineType(name: "pc-q35-7.2")], cpuModels: models),
            qemuError: nil, accelerator: AcceleratorStatus(kind: .tcg, kvmDevicePresent: false, kvmBootsGuest: nil, detail: ""),
            storagePools: pools, vms: [], collectedAt: Date())
    }

    let spec = VMSpec(
        name: "vm1", memory: .mebibytes(512), cpuModel: "qemu64", machineType: "pc-q35-7.2",
        disks: [.init(url: "nfs://198.51.100.2/ferry/vm1.qcow2")], boot: .init(kernel: "/k"))

    @Test func picksTheHostLeftWithMostFreeMemory() {
        let hosts = [
            PlacementHost(name: "h1", inventory: Self.inventory(name: "h1", freeMiB: 1000)),
            PlacementHost(name: "h2", inventory: Self.inventory(name: "h2", freeMiB: 3000)),
            PlacementHost(name: "h3", inventory: Self.inventory(name: "h3", freeMiB: 2000)),
        ]
        #expect(Placement.choose(spec, among: hosts) == .init(host: "h2", rejections: []))
    }

    @Test func everyRejectedHostHasAReason() {
        let hosts = [
            PlacementHost(name: "down", inventory: nil, downReason: "connection refused"),
            PlacementHost(name: "busy", inventory: Self.inventory(name: "busy", freeMiB: 100)),
            PlacementHost(name: "old", inventory: Self.inventory(name: "old", freeMiB: 3000, models: [CPUModel(name: "qemu64", unavailableFeatures: ["sse4.2"])])),
            PlacementHost(name: "nopool", inventory: Self.inventory(name: "nopool", freeMiB: 3000, pools: [])),
            PlacementHost(name: "deadpool", inventory: Self.inventory(name: "deadpool", freeMiB: 3000, pools: [StoragePoolStatus(name: "shared", kind: "nfs", location: "nfs://198.51.100.2/ferry", reachable: false, error: "timed out")])),
            PlacementHost(name: "maint", inventory: Self.inventory(name: "maint", freeMiB: 3000), inMaintenance: true),
        ]
        let decision = Placement.choose(spec, among: hosts)
        #expect(decision.host == nil)
        let reasons = Dictionary(uniqueKeysWithValues: decision.rejections.map { ($0.host, $0.reason) })
        #expect(reasons["down"]?.contains("connection refused") == true)
        #expect(reasons["busy"]?.contains("needs 576 MiB") == true)
        #expect(reasons["old"]?.contains("sse4.2") == true)
        #expect(reasons["nopool"]?.contains("no storage pool reaches") == true)
        #expect(reasons["deadpool"]?.contains("unreachable: timed out") == true)
        #expect(reasons["maint"] == "in maintenance")
    }

    @Test func tiesBreakByNameSoTheAnswerIsStable() {
        let hosts = ["h3", "h1", "h2"].map { PlacementHost(name: $0, inventory: Self.inventory(name: $0, freeMiB: 2000)) }
        #expect(Placement.choose(spec, among: hosts).host == "h1")
        #expect(Placement.choose(spec, among: hosts.reversed()).host == "h1")
    }
}
