import Foundation

/// A small seeded generator (SplitMix64): the same seed gives the same
/// numbers on every platform, so generated clusters are reproducible.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random but plausible clusters for benchmarks and property tests: mixed
/// host sizes, CPU models, machine types and storage, some hosts in
/// maintenance, VMs of varied size and load placed where they can run,
/// anti-affinity groups of a few VMs each.
enum SyntheticCluster {
    static let cpuModels = ["qemu64", "Haswell", "Skylake-Server"]
    static let machineTypes = ["pc-q35-7.2", "pc-q35-8.2"]
    static let pools = ["nfs://10.0.0.1/a", "nfs://10.0.0.2/b"]

    static func make(hosts hostCount: Int, vms vmCount: Int, seed: UInt64, maintenanceShare: Double = 0.05) -> ClusterSnapshot {
        var rng = SeededRandom(seed: seed)
        let gib: UInt64 = 1 << 30
        var hosts: [ClusterSnapshot.Host] = (0..<hostCount).map { i in
            let total = UInt64.random(in: 64...256, using: &rng) * gib
            return ClusterSnapshot.Host(
                name: String(format: "h%04d", i), memoryTotalBytes: total, memoryAvailableBytes: total,
                cpuCount: [16, 32, 64].randomElement(using: &rng)!, cpuUtilisation: 0,
                cpuModels: ["qemu64"] + (Double.random(in: 0..<1, using: &rng) < 0.8 ? ["Haswell"] : [])
                    + (Double.random(in: 0..<1, using: &rng) < 0.5 ? ["Skylake-Server"] : []),
                machineTypes: ["pc-q35-7.2"] + (Double.random(in: 0..<1, using: &rng) < 0.7 ? ["pc-q35-8.2"] : []),
                storage: [pools[0]] + (Double.random(in: 0..<1, using: &rng) < 0.6 ? [pools[1]] : []),
                maintenance: Double.random(in: 0..<1, using: &rng) < maintenanceShare)
        }
        var busy = Array(repeating: 0.0, count: hostCount)
        var groupsOn = Array(repeating: Set<String>(), count: hostCount)
        var vms: [ClusterSnapshot.VM] = []
        let groupCount = max(vmCount / 20, 1)
        for i in 0..<vmCount where hostCount > 0 {
            var vm = ClusterSnapshot.VM(
                name: String(format: "vm%05d", i), host: "", memoryBytes: UInt64.random(in: 1...16, using: &rng) * gib,
                vcpus: Int.random(in: 1...8, using: &rng), cpuModel: cpuModels[weightedIndex([6, 3, 1], using: &rng)],
                machineType: machineTypes[weightedIndex([7, 3], using: &rng)],
                disks: ["\(pools[weightedIndex([7, 3], using: &rng)])/vm\(i).qcow2"],
                cpuLoad: Double.random(in: 0...1, using: &rng),
                dirtyRateBytesPerSecond: Double.random(in: 0...Double(200 << 20), using: &rng),
                antiAffinityGroup: Double.random(in: 0..<1, using: &rng) < 0.2 ? "g\(Int.random(in: 0..<groupCount, using: &rng))" : nil)
            // A few tries at random hosts; a VM that finds none is left out.
            for _ in 0..<20 {
                let h = Int.random(in: 0..<hostCount, using: &rng)
                let host = hosts[h]
                guard host.cpuModels.contains(vm.cpuModel), host.machineTypes.contains(vm.machineType),
                      vm.disks.allSatisfy({ d in host.storage.contains { d.hasPrefix($0 + "/") } }),
                      host.memoryAvailableBytes >= vm.footprintBytes + host.memoryTotalBytes / 4,
                      vm.antiAffinityGroup.map({ !groupsOn[h].contains($0) }) ?? true else { continue }
                vm.host = host.name
                hosts[h].memoryAvailableBytes -= vm.footprintBytes
                busy[h] += vm.cpuLoad * Double(vm.vcpus)
                if let group = vm.antiAffinityGroup { groupsOn[h].insert(group) }
                vms.append(vm)
                break
            }
        }
        for h in hosts.indices { hosts[h].cpuUtilisation = min(1, busy[h] / Double(hosts[h].cpuCount)) }
        return ClusterSnapshot(takenAt: Date(timeIntervalSince1970: 1_800_000_000), hosts: hosts, vms: vms)
    }

    static func weightedIndex(_ weights: [Int], using rng: inout SeededRandom) -> Int {
        var pick = Int.random(in: 0..<weights.reduce(0, +), using: &rng)
        for (i, w) in weights.enumerated() {
            if pick < w { return i }
            pick -= w
        }
        return weights.count - 1
    }
}
