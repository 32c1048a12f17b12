import Foundation
import Testing
@testable import Coordinator

@Suite struct MigrationScheduleTests {
    typealias F = PlannerFixture

    func job(_ name: String, _ source: String, _ target: String, memGiB: UInt64, dirty: Double = 0) -> MigrationScheduler.Job {
        .init(vm: F.vm(name, on: source, memGiB: memGiB, dirty: dirty), source: source, target: target)
    }

    /// Most migrations running at once that match `which`, over the schedule.
    func peak(_ schedule: MigrationSchedule, _ which: (MigrationSchedule.Slot) -> Bool) -> Int {
        schedule.slots.map { at in
            schedule.slots.filter { which($0) && $0.startSeconds <= at.startSeconds && at.startSeconds < $0.endSeconds }.count
        }.max() ?? 0
    }

    @Test func estimateIsMemoryOverBandwidthShareLessDirtyRate() {
        let limits = MigrationLimits(clusterWide: 2, bandwidthBytesPerSecond: Double(2 * F.gib))
        let cold = MigrationScheduler.estimatedSeconds(memoryBytes: F.gib, dirtyRate: 0, limits: limits)
        #expect(cold.seconds == 1 && !cold.mayNotConverge)
        let warm = MigrationScheduler.estimatedSeconds(memoryBytes: F.gib, dirtyRate: Double(F.gib) / 4, limits: limits)
        #expect(abs(warm.seconds - 4.0 / 3) < 1e-9 && !warm.mayNotConverge)
        let hot = MigrationScheduler.estimatedSeconds(memoryBytes: F.gib, dirtyRate: Double(F.gib), limits: limits)
        #expect(hot.seconds == 2 && hot.mayNotConverge)
    }

    @Test func respectsSourceTargetAndClusterLimits() {
        let jobs = (0..<6).map { job("a\($0)", "s1", "t\($0 % 3)", memGiB: UInt64(1 + $0)) }
            + (0..<6).map { job("b\($0)", "s2", "t\($0 % 2)", memGiB: UInt64(2 + $0)) }
        let limits = MigrationLimits(perSourceOutbound: 2, perTargetInbound: 1, clusterWide: 3, bandwidthBytesPerSecond: 1e9)
        let schedule = MigrationScheduler.schedule(jobs, limits: limits)
        #expect(schedule.slots.count == 12)
        for source in ["s1", "s2"] { #expect(peak(schedule) { $0.source == source } <= 2) }
        for target in ["t0", "t1", "t2"] { #expect(peak(schedule) { $0.target == target } <= 1) }
        #expect(peak(schedule) { _ in true } <= 3)
        #expect(schedule.makespanSeconds == schedule.slots.map(\.endSeconds).max())
    }

    @Test func theBigHotVMStartsFirstNotLast() {
        let jobs = [job("a", "s", "t1", memGiB: 1), job("b", "s", "t2", memGiB: 1), job("z", "s", "t3", memGiB: 16, dirty: 1e8)]
        let schedule = MigrationScheduler.schedule(jobs, limits: MigrationLimits(perSourceOutbound: 1))
        #expect(schedule.slots.first?.vm == "z")
        #expect(schedule.slots.first?.startSeconds == 0)
    }

    @Test func anEvacuationPlanCarriesItsSchedule() {
        let snapshot = ClusterSnapshot(hosts: [F.host("src", freeMiB: 0), F.host("t", freeMiB: 60000)],
                                       vms: [F.vm("a", on: "src", memGiB: 2), F.vm("b", on: "src", memGiB: 8)])
        let plan = EvacuationPlanner.plan(snapshot, evacuating: ["src"], limits: MigrationLimits(perTargetInbound: 1))
        #expect(plan.schedule.slots.map(\.vm) == ["b", "a"])
        #expect(plan.schedule.slots[1].startSeconds == plan.schedule.slots[0].endSeconds)
    }
}
