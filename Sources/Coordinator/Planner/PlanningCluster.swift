import Foundation
import Shared

/// A snapshot turned into the working state plans are made on: hosts sorted
/// by name (so every tie breaks the same way), as `PlacementHost`s so the
/// existing placement filters and their reasons apply unchanged, plus what
/// those filters cannot see: anti-affinity groups per host and CPU in use.
/// Moves update it as they are planned, so memory is accounted as VMs land.
struct PlanningCluster {
    let hosts: [ClusterSnapshot.Host]
    private(set) var placementHosts: [PlacementHost]
    let vms: [ClusterSnapshot.VM]
    let specs: [VMSpec]
    /// Index in `hosts` of each VM's host; nil when the snapshot names an unknown host.
    private(set) var location: [Int?]
    /// Per host: anti-affinity group -> VMs of it there.
    private(set) var groups: [[String: Int]]
    /// Per host: CPUs busy (utilisation × count, adjusted as VMs move).
    private(set) var cpuBusy: [Double]
    let hostIndex: [String: Int]
    /// Per VM: its kind, VMs alike in everything the static filters look at.
    private let kind: [Int]
    /// Per kind, per host: whether every filter but memory and anti-affinity
    /// passes. Worked out once per kind, not per VM: the filters compare
    /// strings, and this is the planner's innermost loop.
    private let compatible: [[Bool]]

    init(_ snapshot: ClusterSnapshot) {
        hosts = snapshot.hosts.sorted { $0.name < $1.name }
        vms = snapshot.vms.sorted { $0.name < $1.name }
        hostIndex = Dictionary(hosts.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
        placementHosts = hosts.map(Self.placementHost)
        specs = vms.map(Self.spec)
        location = vms.map { [hostIndex] vm in hostIndex[vm.host] }
        groups = Array(repeating: [:], count: hosts.count)
        cpuBusy = hosts.map { $0.cpuUtilisation * Double($0.cpuCount) }
        var kinds: [Kind: Int] = [:]
        var representative: [Int] = []
        kind = vms.indices.map { [vms] v in
            let key = Kind(vms[v])
            if let k = kinds[key] { return k }
            kinds[key] = representative.count
            representative.append(v)
            return representative.count - 1
        }
        compatible = representative.map { [specs, placementHosts] v in
            placementHosts.map { host in PlacementFilter.allCases.allSatisfy { $0 == .memory || $0.rejects(specs[v], on: host) == nil } }
        }
        for (v, vm) in vms.enumerated() {
            if let h = location[v], let group = vm.antiAffinityGroup { groups[h][group, default: 0] += 1 }
        }
    }

    /// Why VM `v` cannot go to host `h` now, or nil when it can. Placement's
    /// filters first (down, maintenance, memory, CPU model, machine type,
    /// storage), then anti-affinity.
    func rejection(_ v: Int, on h: Int) -> String? {
        if location[v] == h { return "already runs it" }
        if let reason = PlacementFilter.allCases.lazy.compactMap({ $0.rejects(self.specs[v], on: self.placementHosts[h]) }).first {
            return reason
        }
        return antiAffinityRejection(v, on: h)
    }

    /// Whether VM `v` could ever run on host `h`, whatever else moves: every
    /// filter but memory and anti-affinity.
    func isCompatible(_ v: Int, with h: Int) -> Bool { compatible[kind[v]][h] }

    /// Whether VM `v` can go to host `h` now: `rejection` is nil, without building the reason.
    func accepts(_ v: Int, on h: Int) -> Bool {
        location[v] != h && compatible[kind[v]][h] && fits(v, on: h)
    }

    /// What the static filters see of a VM. A disk counts by its directory:
    /// a pool location covers `dir/file` exactly when it covers `dir/`.
    private struct Kind: Hashable {
        var cpuModel: String
        var machineType: String
        var diskDirectories: [String]

        init(_ vm: ClusterSnapshot.VM) {
            cpuModel = vm.cpuModel
            machineType = vm.machineType
            diskDirectories = Set(vm.disks.map { disk in
                disk.lastIndex(of: "/").map { String(disk[...$0]) } ?? disk
            }).sorted()
        }
    }

    func antiAffinityRejection(_ v: Int, on h: Int) -> String? {
        guard let group = vms[v].antiAffinityGroup, groups[h][group, default: 0] > 0 else { return nil }
        return "already runs a VM of anti-affinity group \(group)"
    }

    func freeBytes(_ h: Int) -> UInt64 { placementHosts[h].inventory?.memory.availableBytes ?? 0 }

    func fits(_ v: Int, on h: Int) -> Bool {
        freeBytes(h) >= vms[v].footprintBytes && antiAffinityRejection(v, on: h) == nil
    }

    /// Moves VM `v` to host `h` (or off every host, for nil), accounting its
    /// memory, CPU and anti-affinity group on both sides.
    mutating func move(_ v: Int, to h: Int?) {
        let vm = vms[v]
        let demand = vm.cpuLoad * Double(vm.vcpus)
        if let from = location[v] {
            placementHosts[from].inventory?.memory.availableBytes += vm.footprintBytes
            cpuBusy[from] -= demand
            if let group = vm.antiAffinityGroup { groups[from][group, default: 0] -= 1 }
        }
        if let to = h {
            placementHosts[to].inventory?.memory.availableBytes -= vm.footprintBytes
            cpuBusy[to] += demand
            if let group = vm.antiAffinityGroup { groups[to][group, default: 0] += 1 }
        }
        location[v] = h
    }

    private static func placementHost(_ host: ClusterSnapshot.Host) -> PlacementHost {
        let inventory = HostInventory(
            host: host.name, agentVersion: "snapshot",
            cpu: CPUInventory(vendor: "", model: "", flags: [], count: host.cpuCount, utilisation: host.cpuUtilisation),
            memory: MemoryInventory(totalBytes: host.memoryTotalBytes, availableBytes: host.memoryAvailableBytes),
            load: LoadAverage(one: 0, five: 0, fifteen: 0),
            qemu: QEMUInventory(
                binary: "qemu", version: "on \(host.name)", machineTypes: host.machineTypes.map { MachineType(name: $0) },
                cpuModels: host.cpuModels.map { CPUModel(name: $0, unavailableFeatures: []) }
                    + (host.unrunnableCPUModels ?? [:]).sorted { $0.key < $1.key }
                        .filter { !host.cpuModels.contains($0.key) }.map { CPUModel(name: $0.key, unavailableFeatures: $0.value) }),
            qemuError: nil, accelerator: AcceleratorStatus(kind: .kvm, kvmDevicePresent: true, kvmBootsGuest: true, detail: "snapshot"),
            storagePools: host.storage.map { StoragePoolStatus(name: $0, kind: "snapshot", location: $0, reachable: true) },
            vms: [], collectedAt: Date(timeIntervalSince1970: 0))
        return PlacementHost(name: host.name, inventory: inventory, inMaintenance: host.maintenance)
    }

    private static func spec(_ vm: ClusterSnapshot.VM) -> VMSpec {
        VMSpec(
            name: vm.name, vcpus: vm.vcpus, memory: MemorySize(bytes: vm.memoryBytes), cpuModel: vm.cpuModel,
            machineType: vm.machineType,
            disks: vm.disks.map { $0.contains("://") ? VMSpec.Disk(url: $0) : VMSpec.Disk(path: $0) },
            boot: VMSpec.Boot())
    }
}
