import Foundation
import Testing
@testable import Coordinator

@Suite struct BalancerTests {
    typealias F = PlannerFixture
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// `busy` runs four 4 GiB VMs (16 GiB + overhead of 32 GiB); `idle` none.
    func lopsided(lastMovedAt: Date? = nil, idleInMaintenance: Bool = false) -> ClusterSnapshot {
        ClusterSnapshot(hosts: [
            F.host("busy", freeMiB: 32768 - F.exactly(4, 4, 4, 4), totalMiB: 32768, utilisation: 0.5),
            F.host("idle", freeMiB: 32768, totalMiB: 32768, maintenance: idleInMaintenance),
            F.host("half", freeMiB: 32768 - F.exactly(4, 4), totalMiB: 32768, utilisation: 0.25),
        ], vms: (1...4).map { F.vm("b\($0)", on: "busy", memGiB: 4, vcpus: 2, load: 1, lastMovedAt: lastMovedAt) }
            + (1...2).map { F.vm("h\($0)", on: "half", memGiB: 4, vcpus: 2, load: 1) })
    }

    @Test func movesFromTheBusiestToTheIdlestAndLowersTheScoreEachStep() {
        let plan = Balancer.plan(lopsided(), now: now)
        #expect(plan.moves.count == 2)
        #expect(plan.moves.allSatisfy { $0.source == "busy" || $0.source == "half" })
        #expect(plan.moves.allSatisfy { $0.target == "idle" })
        #expect(plan.scoreAfter < 1e-9)
        var previous = plan.scoreBefore
        for move in plan.moves {
            #expect(move.scoreAfter < previous && move.gain > 0)
            previous = move.scoreAfter
        }
    }

    @Test func scoreIsWeightedDeviationOfMemoryAndCPU() {
        let even = ClusterSnapshot(hosts: [F.host("a", freeMiB: 1000, totalMiB: 2000, utilisation: 0.5), F.host("b", freeMiB: 1000, totalMiB: 2000, utilisation: 0.5)], vms: [])
        #expect(ClusterScore(PlanningCluster(even)).value == 0)
        let uneven = ClusterSnapshot(hosts: [F.host("a", freeMiB: 0, totalMiB: 2000, utilisation: 1), F.host("b", freeMiB: 2000, totalMiB: 2000, utilisation: 0)], vms: [])
        #expect(abs(ClusterScore(PlanningCluster(uneven), memoryWeight: 2, cpuWeight: 1).value - 1.5) < 1e-12)
    }

    @Test func recentlyMovedVMsStayPutUntilTheCoolDownEnds() {
        let snapshot = lopsided(lastMovedAt: now.addingTimeInterval(-600))
        let plan = Balancer.plan(snapshot, options: BalanceOptions(coolDownSeconds: 3600), now: now)
        #expect(plan.moves.allSatisfy { !$0.vm.hasPrefix("b") })
        let later = Balancer.plan(snapshot, options: BalanceOptions(coolDownSeconds: 3600), now: now.addingTimeInterval(3600))
        #expect(later.moves.contains { $0.vm.hasPrefix("b") })
    }

    @Test func aVMIsNotMovedTwiceInOnePlan() {
        let plan = Balancer.plan(SyntheticCluster.make(hosts: 10, vms: 80, seed: 5), options: BalanceOptions(maxMoves: 40, minGain: 0), now: now)
        #expect(Set(plan.moves.map(\.vm)).count == plan.moves.count)
    }

    @Test func stopsAtMaxMovesAndAtMinimumGain() {
        #expect(Balancer.plan(lopsided(), options: BalanceOptions(maxMoves: 1), now: now).moves.count == 1)
        #expect(Balancer.plan(lopsided(), options: BalanceOptions(minGain: 10), now: now).moves.isEmpty)
    }

    @Test func neverMovesOntoAHostInMaintenance() {
        let plan = Balancer.plan(lopsided(idleInMaintenance: true), now: now)
        #expect(plan.moves.allSatisfy { $0.target != "idle" })
        #expect(plan.scoreAfter <= plan.scoreBefore)
    }

    @Test func snapshotJSONRoundTripsAndOptionalFieldsMayBeLeftOut() throws {
        let json = """
            {"takenAt": "2027-01-15T08:00:00Z",
             "hosts": [{"name": "h1", "memoryTotalBytes": 68719476736, "memoryAvailableBytes": 34359738368, "cpuCount": 16,
                        "cpuModels": ["qemu64"], "machineTypes": ["pc-q35-7.2"]}],
             "vms": [{"name": "vm1", "host": "h1", "memoryBytes": 4294967296, "cpuModel": "qemu64", "machineType": "pc-q35-7.2",
                      "lastMovedAt": "2027-01-15T07:30:00Z"}]}
            """
        let snapshot = try ClusterSnapshot.decode(Data(json.utf8))
        #expect(snapshot.hosts[0].maintenance == false && snapshot.hosts[0].storage.isEmpty)
        #expect(snapshot.vms[0].vcpus == 1 && snapshot.vms[0].antiAffinityGroup == nil)
        #expect(snapshot.takenAt!.timeIntervalSince(snapshot.vms[0].lastMovedAt!) == 1800)
        #expect(try ClusterSnapshot.decode(snapshot.encoded()) == snapshot)
    }
}
