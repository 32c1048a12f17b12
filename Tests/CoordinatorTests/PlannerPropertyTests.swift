import Foundation
import Testing
@testable import Coordinator

/// Planner properties over many seeded random clusters, checked by code
/// independent of the planner's own bookkeeping.
@Suite struct PlannerPropertyTests {
    typealias F = PlannerFixture
    static let seeds = Array(UInt64(1)...200)

    @Test(arguments: seeds) func evacuationPlansAreFeasibleCompleteAndDeterministic(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed &* 7919)
        let snapshot = SyntheticCluster.make(hosts: Int.random(in: 3...12, using: &rng), vms: Int.random(in: 5...80, using: &rng), seed: seed, maintenanceShare: 0.15)
        let occupied = Array(Set(snapshot.vms.map(\.host))).sorted()
        let evacuating = Set(occupied.shuffled(using: &rng).prefix(Int.random(in: 1...2, using: &rng)))
        let plan = EvacuationPlanner.plan(snapshot, evacuating: evacuating)
        let movers = snapshot.vms.filter { evacuating.contains($0.host) }
        #expect((plan.placements.map(\.vm) + plan.unplaced.map(\.vm)).sorted() == movers.map(\.name).sorted())
        try Self.checkFeasible(snapshot, moves: plan.placements.map { ($0.vm, $0.target) }, leaving: evacuating)
        #expect(plan.unplaced.allSatisfy { $0.rejections.count == snapshot.hosts.count })
        #expect(plan == EvacuationPlanner.plan(snapshot, evacuating: evacuating))
    }

    @Test(arguments: seeds) func evacuationPlacesEveryVMWhenAPlacementIsKnownToExist(seed: UInt64) throws {
        let (snapshot, evacuating) = Self.feasibleByConstruction(seed: seed)
        let plan = EvacuationPlanner.plan(snapshot, evacuating: evacuating)
        #expect(plan.unplaced.isEmpty, "seed \(seed): \(plan.unplaced.map(\.vm))")
        try Self.checkFeasible(snapshot, moves: plan.placements.map { ($0.vm, $0.target) }, leaving: evacuating)
    }

    @Test(arguments: seeds) func balancingNeverRaisesTheScoreAndKeepsEveryRule(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed &* 104_729)
        var snapshot = SyntheticCluster.make(hosts: Int.random(in: 2...12, using: &rng), vms: Int.random(in: 5...80, using: &rng), seed: seed, maintenanceShare: 0.15)
        let now = snapshot.takenAt!
        for i in snapshot.vms.indices where Bool.random(using: &rng) {
            snapshot.vms[i].lastMovedAt = now.addingTimeInterval(-Double.random(in: 0...7200, using: &rng))
        }
        let options = BalanceOptions(maxMoves: Int.random(in: 1...15, using: &rng), minGain: 0, coolDownSeconds: 3600, candidateHosts: 3)
        let plan = Balancer.plan(snapshot, options: options, now: now)
        #expect(plan.moves.count <= options.maxMoves)
        let before = ClusterScore(PlanningCluster(snapshot)).value
        #expect(abs(plan.scoreBefore - before) < 1e-12)
        // Replay move by move: each is feasible at its turn and lowers the score.
        var state = snapshot
        var score = before
        for move in plan.moves {
            let vm = try #require(state.vms.first { $0.name == move.vm })
            #expect(vm.lastMovedAt.map { now.timeIntervalSince($0) >= 3600 } ?? true)
            #expect(vm.host == move.source)
            try Self.checkFeasible(state, moves: [(move.vm, move.target)], leaving: [])
            state = Self.applying(state, vm: move.vm, to: move.target)
            let after = ClusterScore(PlanningCluster(state)).value
            #expect(after < score)
            score = after
        }
        #expect(abs(plan.scoreAfter - score) < 1e-9)
        #expect(plan == Balancer.plan(snapshot, options: options, now: now))
    }

    /// Capacity, compatibility, maintenance, evacuating hosts and anti-affinity,
    /// from the snapshot alone, for moves made together.
    static func checkFeasible(_ snapshot: ClusterSnapshot, moves: [(vm: String, target: String)], leaving: Set<String>) throws {
        let hosts = Dictionary(uniqueKeysWithValues: snapshot.hosts.map { ($0.name, $0) })
        let vms = Dictionary(uniqueKeysWithValues: snapshot.vms.map { ($0.name, $0) })
        let moved = Set(moves.map(\.vm))
        var arriving: [String: UInt64] = [:]
        var groups: [String: [String]] = [:]
        for vm in snapshot.vms where !moved.contains(vm.name) && !leaving.contains(vm.host) {
            if let g = vm.antiAffinityGroup { groups[vm.host, default: []].append(g) }
        }
        for (name, target) in moves {
            let vm = try #require(vms[name]), host = try #require(hosts[target])
            #expect(!leaving.contains(target) && !host.maintenance && target != vm.host)
            #expect(host.cpuModels.contains(vm.cpuModel) && host.machineTypes.contains(vm.machineType))
            #expect(vm.disks.allSatisfy { d in host.storage.contains { d.hasPrefix($0 + "/") } })
            arriving[target, default: 0] += vm.footprintBytes
            if let g = vm.antiAffinityGroup { groups[target, default: []].append(g) }
        }
        for (target, bytes) in arriving { #expect(bytes <= hosts[target]!.memoryAvailableBytes, "\(target) over capacity") }
        for (host, list) in groups { #expect(Set(list).count == list.count, "anti-affinity broken on \(host)") }
    }

    static func applying(_ snapshot: ClusterSnapshot, vm name: String, to target: String) -> ClusterSnapshot {
        var s = snapshot
        let v = s.vms.firstIndex { $0.name == name }!
        let vm = s.vms[v]
        for h in s.hosts.indices {
            let demand = vm.cpuLoad * Double(vm.vcpus) / Double(s.hosts[h].cpuCount)
            if s.hosts[h].name == vm.host { s.hosts[h].memoryAvailableBytes += vm.footprintBytes; s.hosts[h].cpuUtilisation -= demand }
            if s.hosts[h].name == target { s.hosts[h].memoryAvailableBytes -= vm.footprintBytes; s.hosts[h].cpuUtilisation += demand }
        }
        s.vms[v].host = target
        return s
    }

    /// Hosts to empty, and targets whose free memory is exactly (or nearly)
    /// what a hidden assignment of the evacuated VMs needs; each VM made
    /// compatible with its hidden target, groups kept apart. Tight on purpose,
    /// so greedy packing alone often fails.
    static func feasibleByConstruction(seed: UInt64) -> (ClusterSnapshot, Set<String>) {
        var rng = SeededRandom(seed: seed)
        let pick = { (p: Double, rng: inout SeededRandom) in Double.random(in: 0..<1, using: &rng) < p }
        var targets: [ClusterSnapshot.Host] = (0..<Int.random(in: 2...6, using: &rng)).map { i in
            F.host("t\(i)", freeMiB: 0, totalMiB: 65536,
                   models: ["qemu64"] + (pick(0.6, &rng) ? ["Haswell"] : []), machines: ["pc-q35-7.2"],
                   storage: pick(0.7, &rng) ? [F.pool] : ["/srv/local\(i)"])
        }
        let sources = (0..<Int.random(in: 1...2, using: &rng)).map { F.host("s\($0)", freeMiB: 0) }
        let maintenance = F.host("m0", freeMiB: 65536, models: ["qemu64", "Haswell"], storage: [F.pool], maintenance: true)
        var vms: [ClusterSnapshot.VM] = []
        var groupsOn = Array(repeating: Set<String>(), count: targets.count)
        for t in targets.indices {
            for j in 0..<Int.random(in: 0...2, using: &rng) {
                let g = "g\(Int.random(in: 0..<3, using: &rng))"
                guard groupsOn[t].insert(g).inserted else { continue }
                vms.append(F.vm("old\(t)x\(j)", on: targets[t].name, memGiB: 1, group: g))
            }
        }
        var need = Array(repeating: UInt64(0), count: targets.count)
        for i in 0..<Int.random(in: 2...9, using: &rng) {
            let t = Int.random(in: 0..<targets.count, using: &rng)
            let host = targets[t]
            var vm = F.vm("vm\(i)", on: sources.randomElement(using: &rng)!.name, memGiB: UInt64.random(in: 1...8, using: &rng),
                          model: host.cpuModels.randomElement(using: &rng)!)
            vm.disks = ["\(host.storage[0])/vm\(i).qcow2"]
            let g = "g\(Int.random(in: 0..<3, using: &rng))"
            if pick(0.4, &rng), !groupsOn[t].contains(g) {
                vm.antiAffinityGroup = g
                groupsOn[t].insert(g)
            }
            need[t] += vm.footprintBytes
            vms.append(vm)
        }
        for t in targets.indices {
            targets[t].memoryAvailableBytes = need[t] + (pick(0.5, &rng) ? 0 : UInt64.random(in: 0...1024, using: &rng) * F.mib)
        }
        return (ClusterSnapshot(hosts: targets + sources + [maintenance], vms: vms), Set(sources.map(\.name)))
    }
}

@Suite struct PlannerPropertyCoverageTests {
    /// The tight instances really do defeat greedy packing sometimes, so the
    /// property above tests the search, not only greedy.
    @Test func someFeasibleInstancesNeedTheSearch() {
        let methods = PlannerPropertyTests.seeds.map { seed in
            let (snapshot, evacuating) = PlannerPropertyTests.feasibleByConstruction(seed: seed)
            return EvacuationPlanner.plan(snapshot, evacuating: evacuating).method
        }
        #expect(methods.contains("search"))
        #expect(methods.contains("greedy"))
    }
}

/// "Every VM is placed whenever any feasible placement exists", checked
/// against an exhaustive search on small random clusters (not only on
/// instances built around a known answer).
@Suite struct EvacuationCompletenessTests {
    typealias F = PlannerFixture

    @Test(arguments: Array(UInt64(1)...300)) func placesEveryVMWhenBruteForceFindsAPlacement(seed: UInt64) throws {
        let (snapshot, vms) = Self.instance(seed: seed)
        let plan = EvacuationPlanner.plan(snapshot, evacuating: ["src"])
        try PlannerPropertyTests.checkFeasible(snapshot, moves: plan.placements.map { ($0.vm, $0.target) }, leaving: ["src"])
        let feasible = Self.bruteForce(snapshot, movers: vms.filter { $0.host == "src" })
        #expect(plan.unplaced.isEmpty == feasible, "seed \(seed): planner left \(plan.unplaced.map(\.vm)), brute force says feasible: \(feasible)")
    }

    /// The instances are neither all feasible nor all hopeless.
    @Test func instancesCoverBothAnswers() {
        let answers = (UInt64(1)...300).map { seed in
            let (snapshot, vms) = Self.instance(seed: seed)
            return Self.bruteForce(snapshot, movers: vms.filter { $0.host == "src" })
        }
        #expect(answers.count { $0 } >= 50 && answers.count { !$0 } >= 50, "\(answers.count { $0 }) feasible of 300")
    }

    static func instance(seed: UInt64) -> (ClusterSnapshot, [ClusterSnapshot.VM]) {
        var rng = SeededRandom(seed: seed &* 2_654_435_761)
        let pick = { (p: Double, rng: inout SeededRandom) in Double.random(in: 0..<1, using: &rng) < p }
        var hosts = [F.host("src", freeMiB: 0)]
        for i in 0..<Int.random(in: 1...4, using: &rng) {
            hosts.append(F.host(
                "t\(i)", freeMiB: UInt64.random(in: 0...6, using: &rng) * 1088,
                models: pick(0.7, &rng) ? ["qemu64", "Haswell"] : ["qemu64"], maintenance: pick(0.15, &rng)))
        }
        var vms: [ClusterSnapshot.VM] = []
        for i in 0..<Int.random(in: 1...6, using: &rng) {
            vms.append(F.vm("vm\(i)", on: "src", memGiB: UInt64.random(in: 1...3, using: &rng),
                            group: pick(0.3, &rng) ? "g\(Int.random(in: 0...1, using: &rng))" : nil,
                            model: pick(0.3, &rng) ? "Haswell" : "qemu64"))
        }
        for t in hosts.indices.dropFirst() where pick(0.3, &rng) {
            vms.append(F.vm("old\(t)", on: hosts[t].name, memGiB: 1, group: "g\(Int.random(in: 0...1, using: &rng))"))
        }
        return (ClusterSnapshot(hosts: hosts, vms: vms), vms)
    }

    /// Tries every assignment of the movers to the other hosts.
    static func bruteForce(_ snapshot: ClusterSnapshot, movers: [ClusterSnapshot.VM]) -> Bool {
        let targets = snapshot.hosts.filter { $0.name != "src" && !$0.maintenance }
        var free = Dictionary(uniqueKeysWithValues: targets.map { ($0.name, $0.memoryAvailableBytes) })
        var groups: [String: [String]] = [:]
        for vm in snapshot.vms where vm.host != "src" { if let g = vm.antiAffinityGroup { groups[vm.host, default: []].append(g) } }
        func assign(_ i: Int) -> Bool {
            guard i < movers.count else { return true }
            let vm = movers[i]
            for host in targets where host.cpuModels.contains(vm.cpuModel) && free[host.name]! >= vm.footprintBytes {
                if let g = vm.antiAffinityGroup, groups[host.name, default: []].contains(g) { continue }
                free[host.name]! -= vm.footprintBytes
                if let g = vm.antiAffinityGroup { groups[host.name, default: []].append(g) }
                defer {
                    free[host.name]! += vm.footprintBytes
                    if vm.antiAffinityGroup != nil { groups[host.name]!.removeLast() }
                }
                if assign(i + 1) { return true }
            }
            return false
        }
        return assign(0)
    }
}
