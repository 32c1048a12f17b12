import Foundation
import Shared
import Testing
@testable import Coordinator

@Suite struct OutputTests {
    @Test func byteFormat() {
        #expect(ByteFormat.string(0) == "0 B")
        #expect(ByteFormat.string(1536) == "1.5 KiB")
        #expect(ByteFormat.string(256 << 20) == "256 MiB")
        #expect(ByteFormat.string(4 << 30) == "4 GiB")
    }

    @Test func tableAlignsColumns() {
        var table = TextTable("HOST", "STATE")
        table.add("h1", "up")
        table.add("long-name", "down")
        #expect(table.render() == "HOST       STATE\nh1         up\nlong-name  down")
    }

    @Test func hostsTableListsDownHostsWithTheirReason() {
        let up = HostReport(
            name: "h1", address: "198.51.100.11", state: .up, reason: nil, latencyMs: 12,
            inventory: HostInventory(
                host: "h1", agentVersion: "0.1.0",
                cpu: CPUInventory(vendor: "GenuineIntel", model: "Xeon", flags: ["sse2"], count: 2, utilisation: 0.1),
                memory: MemoryInventory(totalBytes: 4 << 30, availableBytes: 3 << 30),
                load: LoadAverage(one: 0.5, five: 0.4, fifteen: 0.3),
                qemu: QEMUInventory(binary: "qemu", version: "7.2.22", machineTypes: [], cpuModels: []), qemuError: nil,
                accelerator: AcceleratorStatus(kind: .tcg, kvmDevicePresent: true, kvmBootsGuest: false, detail: ""),
                storagePools: [StoragePoolStatus(name: "shared", kind: "nfs", location: "nfs://x/y", reachable: false, error: "timed out")],
                vms: [], collectedAt: Date()))
        let down = HostReport(name: "h2", address: "198.51.100.12", state: .down, reason: "connection refused")
        let text = HostsCommand.table([up, down])
        #expect(text.contains("h1    up     2     1 GiB/4 GiB  0.50  0    tcg    7.2.22  Xeon"))
        #expect(text.contains("h2: connection refused"))
        #expect(text.contains("h1: storage pool shared unreachable: timed out"))
    }
}
