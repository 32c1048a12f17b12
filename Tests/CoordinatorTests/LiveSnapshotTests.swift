import Foundation
import Shared
import Testing
@testable import Coordinator

@Suite struct LiveSnapshotTests {
    typealias F = PlannerFixture

    @Test func surveyWithJournalFlagsMarksMaintenanceCoolDownsAndDropsArrivingCopies() throws {
        var h1 = PlacementTests.inventory(name: "h1", freeMiB: 3000)
        h1.vms = [
            VMSummary(name: "vm1", state: "running", memoryBytes: 256 << 20, vcpus: 1, pid: 42, cpuModel: "qemu64", machineType: "pc-q35-7.2"),
            VMSummary(name: "vm2", state: "migrating", memoryBytes: 256 << 20, vcpus: 1, pid: 43, cpuModel: "qemu64", machineType: "pc-q35-7.2"),
        ]
        var h2 = PlacementTests.inventory(name: "h2", freeMiB: 3000)
        h2.vms = [VMSummary(name: "vm2", state: "incoming", memoryBytes: 256 << 20, vcpus: 1, pid: 44, cpuModel: "qemu64", machineType: "pc-q35-7.2")]
        let moved = Date(timeIntervalSince1970: 1000)
        let snapshot = ClusterSnapshot(
            reports: [
                HostReport(name: "h1", address: "a", state: .up, inventory: h1),
                HostReport(name: "h2", address: "b", state: .up, inventory: h2),
            ],
            takenAt: Date(timeIntervalSince1970: 2000), maintenance: ["h2"], lastMovedAt: ["vm1": moved])
        #expect(snapshot.hosts.map(\.maintenance) == [false, true])
        #expect(snapshot.vms.map(\.name) == ["vm1", "vm2"] && snapshot.vms.map(\.host) == ["h1", "h1"])
        #expect(snapshot.vms[0].lastMovedAt == moved && snapshot.vms[0].state == "running" && snapshot.vms[0].pinnedReason == nil)
        #expect(snapshot.vms[1].pinnedReason?.contains("being migrated") == true)
        #expect(try ClusterSnapshot.decode(snapshot.encoded()) == snapshot)
    }

    /// A model QEMU knows but the host cannot run (its CPU level) is named
    /// with what it lacks, not as unknown.
    @Test func aModelTheHostCannotRunIsRejectedWithTheMissingFeatures() throws {
        var old = PlacementTests.inventory(name: "old", freeMiB: 3000, models: [
            CPUModel(name: "qemu64", unavailableFeatures: []), CPUModel(name: "Westmere", unavailableFeatures: ["ssse3", "aes"]),
        ])
        old.vms = []
        var src = PlacementTests.inventory(name: "src", freeMiB: 0, models: [CPUModel(name: "Westmere", unavailableFeatures: [])])
        src.vms = [VMSummary(name: "w", state: "running", memoryBytes: 256 << 20, vcpus: 1, pid: 1, cpuModel: "Westmere", machineType: "pc-q35-7.2")]
        let snapshot = ClusterSnapshot(reports: [
            HostReport(name: "old", address: "a", state: .up, inventory: old), HostReport(name: "src", address: "b", state: .up, inventory: src),
        ], takenAt: Date(timeIntervalSince1970: 0))
        #expect(snapshot.hosts[0].cpuModels == ["qemu64"] && snapshot.hosts[0].unrunnableCPUModels == ["Westmere": ["ssse3", "aes"]])
        #expect(snapshot.hosts[1].unrunnableCPUModels == nil)
        #expect(try ClusterSnapshot.decode(snapshot.encoded()) == snapshot)
        let plan = EvacuationPlanner.plan(snapshot, evacuating: ["src"])
        #expect(plan.unplaced.first?.rejections.first { $0.host == "old" }?.reason == "CPU model Westmere lacks ssse3, aes here")
    }

    @Test func stoppedVMsAreNeitherEvacuatedNorBalanced() {
        var stopped = F.vm("off", on: "src", memGiB: 1)
        stopped.state = "stopped"
        var paused = F.vm("paused", on: "src", memGiB: 1)
        paused.state = "paused"
        let snapshot = ClusterSnapshot(hosts: [F.host("src", freeMiB: 100, totalMiB: 4096), F.host("dst", freeMiB: 60000)], vms: [stopped, paused])
        let plan = EvacuationPlanner.plan(snapshot, evacuating: ["src"])
        #expect(plan.placements.map(\.vm) == ["paused"])
        #expect(plan.unplaced.map(\.vm) == ["off"] && plan.unplaced[0].rejections.isEmpty)
        #expect(plan.unplaced[0].reason?.hasPrefix("stopped, not running") == true)
        #expect(plan.schedule.slots.map(\.vm) == ["paused"])

        let balance = Balancer.plan(snapshot, options: BalanceOptions(minGain: 0), now: Date())
        #expect(balance.moves.map(\.vm) == ["paused"])
    }

    @Test(arguments: JournalStore.allCases) func lastMovesAreTheNewestSuccessfulMigrationPerVM(store: JournalStore) throws {
        let (journal, folder) = try store.open()
        defer { JournalFixture.remove(folder) }
        for (vm, outcome) in [("vm1", MigrationOutcome.succeeded), ("vm1", .succeeded), ("vm2", .rolledBack), ("vm3", .failed)] {
            let record = JournalFixture.record(vm)
            try journal.begin(record, owner: .current())
            try journal.finish(record.id, outcome: outcome, error: nil)
        }
        try journal.begin(JournalFixture.record("vm4"), owner: .current())
        let moves = try journal.lastMoves()
        #expect(Set(moves.keys) == ["vm1"])
        let newest = try journal.history(vm: "vm1", limit: 1).first?.finishedAt
        #expect(moves["vm1"] == newest)
    }
}
