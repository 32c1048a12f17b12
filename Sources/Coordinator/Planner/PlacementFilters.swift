import Shared

/// Feasibility filters for putting a VM on a host, in the manner of Nomad's
/// and Kubernetes' schedulers: each says yes, or no with a reason a person
/// can act on. Pure functions over inventory data; no I/O.
enum PlacementFilter: CaseIterable, Sendable {
    case hostUp
    case maintenance
    case memory
    case cpuModel
    case machineType
    case storage

    /// Why `spec` cannot go to `host`, or nil when it can.
    func rejects(_ spec: VMSpec, on host: PlacementHost) -> String? {
        switch self {
        case .hostUp:
            return host.inventory == nil ? "down: \(host.downReason ?? "no answer")" : nil
        case .maintenance:
            return host.inMaintenance ? "in maintenance" : nil
        case .memory:
            guard let memory = host.inventory?.memory else { return nil }
            let needed = spec.footprintBytes + host.pendingBytes
            let free = memory.availableBytes
            return free >= needed ? nil : "needs \(needed >> 20) MiB (guest RAM and QEMU overhead), has \(free >> 20) MiB free"
        case .cpuModel:
            guard let qemu = host.inventory?.qemu else { return host.inventory == nil ? nil : "QEMU unavailable: \(host.inventory?.qemuError ?? "unknown")" }
            guard let model = qemu.cpuModels.first(where: { $0.name == spec.cpuModel }) else {
                return "QEMU \(qemu.version) does not know CPU model \(spec.cpuModel)"
            }
            return model.runnable ? nil : "CPU model \(spec.cpuModel) lacks \(model.unavailableFeatures.joined(separator: ", ")) here"
        case .machineType:
            guard let qemu = host.inventory?.qemu else { return nil }
            return qemu.machineTypes.contains { $0.name == spec.machineType } ? nil : "no machine type \(spec.machineType) in QEMU \(qemu.version)"
        case .storage:
            guard let inventory = host.inventory else { return nil }
            for disk in spec.disks {
                guard let pool = inventory.storagePools.first(where: { $0.covers(disk) }) else {
                    return "no storage pool reaches \(disk.location)"
                }
                if !pool.reachable { return "storage pool \(pool.name) is unreachable: \(pool.error ?? "no reason given")" }
            }
            return nil
        }
    }
}

/// A host as placement sees it.
struct PlacementHost: Sendable {
    var name: String
    var inventory: HostInventory?
    var downReason: String?
    var inMaintenance = false
    /// Memory already promised to placements made in this same plan.
    var pendingBytes: UInt64 = 0
}

extension StoragePoolStatus {
    /// Whether a disk lives in this pool: an nfs:// URL or a path under the pool's location.
    func covers(_ disk: VMSpec.Disk) -> Bool {
        let root = location.hasSuffix("/") ? location : location + "/"
        return disk.location.hasPrefix(root)
    }
}
