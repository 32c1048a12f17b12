import Foundation
@testable import Coordinator

/// Small hand-made clusters for planner tests.
enum PlannerFixture {
    static let gib: UInt64 = 1 << 30
    static let mib: UInt64 = 1 << 20
    static let pool = "nfs://198.51.100.2/ferry"

    static func host(
        _ name: String, freeMiB: UInt64, totalMiB: UInt64 = 65536, cpus: Int = 16, utilisation: Double = 0,
        models: [String] = ["qemu64"], machines: [String] = ["pc-q35-7.2"], storage: [String] = [pool], maintenance: Bool = false
    ) -> ClusterSnapshot.Host {
        ClusterSnapshot.Host(
            name: name, memoryTotalBytes: totalMiB * mib, memoryAvailableBytes: freeMiB * mib, cpuCount: cpus,
            cpuUtilisation: utilisation, cpuModels: models, machineTypes: machines, storage: storage, maintenance: maintenance)
    }

    /// A VM of `memGiB` GiB; its footprint is that plus 64 MiB.
    static func vm(
        _ name: String, on host: String, memGiB: UInt64, group: String? = nil, model: String = "qemu64",
        vcpus: Int = 1, load: Double = 0, dirty: Double = 0, lastMovedAt: Date? = nil
    ) -> ClusterSnapshot.VM {
        ClusterSnapshot.VM(
            name: name, host: host, memoryBytes: memGiB * gib, vcpus: vcpus, cpuModel: model, machineType: "pc-q35-7.2",
            disks: ["\(pool)/\(name).qcow2"], cpuLoad: load, dirtyRateBytesPerSecond: dirty, antiAffinityGroup: group,
            lastMovedAt: lastMovedAt)
    }

    /// Free MiB that fits exactly these guest sizes (GiB) with QEMU overhead.
    static func exactly(_ sizes: UInt64...) -> UInt64 { sizes.reduce(0) { $0 + $1 * 1024 + 64 } }
}
