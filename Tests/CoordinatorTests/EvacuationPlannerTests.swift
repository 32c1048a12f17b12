import Foundation
import Testing
@testable import Coordinator

@Suite struct EvacuationPlannerTests {
    typealias F = PlannerFixture

    @Test func aVMThatFitsNowhereGetsEveryHostsReason() {
        let snapshot = ClusterSnapshot(hosts: [
            F.host("src", freeMiB: 0),
            F.host("other", freeMiB: 60000),
            F.host("maint", freeMiB: 60000, models: ["Haswell"], maintenance: true),
            F.host("small", freeMiB: 1024, models: ["Haswell"]),
            F.host("old", freeMiB: 60000),
            F.host("nopool", freeMiB: 60000, models: ["Haswell"], storage: []),
            F.host("peer", freeMiB: 60000, models: ["Haswell"]),
        ], vms: [
            F.vm("vm1", on: "src", memGiB: 4, group: "db", model: "Haswell"),
            F.vm("db2", on: "peer", memGiB: 1, group: "db"),
        ])
        let plan = EvacuationPlanner.plan(snapshot, evacuating: ["src", "other"])
        #expect(plan.placements.isEmpty)
        #expect(plan.method == "greedy")
        let reasons = Dictionary(uniqueKeysWithValues: plan.unplaced.first!.rejections.map { ($0.host, $0.reason) })
        #expect(reasons["src"] == "being evacuated")
        #expect(reasons["other"] == "being evacuated")
        #expect(reasons["maint"] == "in maintenance")
        #expect(reasons["small"]?.contains("needs 4160 MiB") == true)
        #expect(reasons["old"] == "QEMU on old does not know CPU model Haswell")
        #expect(reasons["nopool"]?.contains("no storage pool reaches") == true)
        #expect(reasons["peer"] == "already runs a VM of anti-affinity group db")
    }

    @Test func antiAffinitySpreadsAGroupEvenWhenOneHostHasRoomForAll() {
        let snapshot = ClusterSnapshot(hosts: [F.host("src", freeMiB: 0), F.host("big", freeMiB: 60000), F.host("little", freeMiB: 8000)],
                                       vms: [F.vm("a", on: "src", memGiB: 2, group: "web"), F.vm("b", on: "src", memGiB: 2, group: "web")])
        let plan = EvacuationPlanner.plan(snapshot, evacuating: ["src"])
        #expect(Set(plan.placements.map(\.target)) == ["big", "little"])
    }

    @Test func neverTargetsAHostInMaintenance() {
        let snapshot = ClusterSnapshot(hosts: [F.host("src", freeMiB: 0), F.host("maint", freeMiB: 60000, maintenance: true), F.host("ok", freeMiB: 9000)],
                                       vms: [F.vm("a", on: "src", memGiB: 4), F.vm("b", on: "src", memGiB: 4)])
        let plan = EvacuationPlanner.plan(snapshot, evacuating: ["src"])
        #expect(plan.placements.map(\.target) == ["ok", "ok"])
    }

    @Test func evacuatingSeveralHostsNeverTargetsOneOfThem() {
        let snapshot = ClusterSnapshot(hosts: [F.host("h1", freeMiB: 1000), F.host("h2", freeMiB: 64000), F.host("h3", freeMiB: 20000)],
                                       vms: [F.vm("a", on: "h1", memGiB: 4), F.vm("b", on: "h2", memGiB: 4), F.vm("c", on: "h1", memGiB: 2)])
        let plan = EvacuationPlanner.plan(snapshot, evacuating: ["h1", "h2"])
        #expect(plan.placements.map(\.vm) == ["a", "b", "c"])
        #expect(plan.placements.allSatisfy { $0.target == "h3" })
        #expect(plan.placements.map(\.source) == ["h1", "h2", "h1"])
    }

    @Test func searchPlacesWhatGreedyPackingMisses() {
        // Greedy puts the 6 GiB VM on A (most free), then cannot fit both 5 GiB
        // ones; 5 + 5 on A and 6 on B fits exactly.
        let snapshot = ClusterSnapshot(hosts: [
            F.host("A", freeMiB: F.exactly(5, 5), totalMiB: 16384), F.host("B", freeMiB: F.exactly(6), totalMiB: 16384), F.host("src", freeMiB: 0),
        ], vms: [F.vm("big", on: "src", memGiB: 6), F.vm("mid1", on: "src", memGiB: 5), F.vm("mid2", on: "src", memGiB: 5)])
        let plan = EvacuationPlanner.plan(snapshot, evacuating: ["src"])
        #expect(plan.method == "search")
        #expect(plan.unplaced.isEmpty)
        #expect(plan.placements.map(\.target) == ["B", "A", "A"])
    }

    @Test func whenNoPlacementExistsTheSearchSaysSoAndGreedysReasonsStay() {
        let snapshot = ClusterSnapshot(hosts: [F.host("A", freeMiB: F.exactly(5)), F.host("src", freeMiB: 0)],
                                       vms: [F.vm("x", on: "src", memGiB: 5), F.vm("y", on: "src", memGiB: 5)])
        let plan = EvacuationPlanner.plan(snapshot, evacuating: ["src"])
        #expect(plan.method == "greedy")
        #expect(plan.placements.map(\.vm) == ["x"])
        #expect(plan.unplaced.map(\.vm) == ["y"])
        #expect(plan.unplaced.first?.rejections.first { $0.host == "A" }?.reason.contains("needs 5184 MiB") == true)
    }

    @Test func theSameClusterInAnyOrderGivesTheSamePlan() {
        let snapshot = SyntheticCluster.make(hosts: 20, vms: 150, seed: 7)
        let source = snapshot.vms[0].host
        var shuffled = snapshot
        var rng = SeededRandom(seed: 3)
        shuffled.hosts.shuffle(using: &rng)
        shuffled.vms.shuffle(using: &rng)
        let plan = EvacuationPlanner.plan(snapshot, evacuating: [source])
        #expect(plan == EvacuationPlanner.plan(shuffled, evacuating: [source]))
        #expect(!plan.placements.isEmpty)
    }
}
