import Foundation
import Shared
import Testing
@testable import Coordinator

@Suite struct EvacuationTextTests {
    typealias F = PlannerFixture

    static let snapshot = ClusterSnapshot(hosts: [
        F.host("h1", freeMiB: 0), F.host("h2", freeMiB: 20000), F.host("h3", freeMiB: 20000, models: ["qemu64"]),
    ], vms: [
        F.vm("web1", on: "h1", memGiB: 2), F.vm("web2", on: "h1", memGiB: 1),
        F.vm("db1", on: "h1", memGiB: 1, model: "Westmere"),
        { var vm = F.vm("off1", on: "h1", memGiB: 1); vm.state = "stopped"; return vm }(),
    ])

    @Test func planListsTargetsInStartOrderAndWhyTheRestCannotMove() {
        let plan = EvacuationPlanner.plan(Self.snapshot, evacuating: ["h1"])
        let text = EvacuationPlanText.render(plan, host: "h1", parallel: 2)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("Plan for h1: 2 VMs to move, 2 that cannot move; estimated"), "\(text)")
        #expect(lines[1].contains("ORDER") && lines[2].contains("1") && lines[2].contains("web1"), "\(text)")
        #expect(text.contains("Cannot move (they stay on h1, running):"))
        #expect(text.contains("  db1: fits on no host:\n    h2: QEMU on h2 does not know CPU model Westmere"), "\(text)")
        #expect(!text.contains("being evacuated"))
        #expect(text.contains("off1: stopped, not running"))
        #expect(EvacuationPlanText.render(EvacuationPlanner.plan(Self.snapshot, evacuating: ["h2"]), host: "h2", parallel: 2)
            == "h2 runs no VM: nothing to move.")
    }

    @Test func reportSaysWhatMovedWhatDidNotAndWhatIsLeft() {
        let plan = EvacuationPlanner.plan(Self.snapshot, evacuating: ["h1"])
        var entries = [ServeMetricsTests.moved("web1", downtimeMs: 41.4, totalMs: 8200)]
        entries.append(MoveResult(vm: "web2", source: "h1", target: "h3", outcome: .rolledBack, reason: "the guest did not survive on h3"))
        entries += plan.unplaced.map(MoveResult.init(unplaced:))
        let report = EvacuationReport(host: "h1", parallel: 2, startedAt: Date(), wallSeconds: 12.4, entries: entries, leftOnHost: ["db1", "off1", "web2"])
        #expect(!report.hostEmpty && report.count(.moved) == 1 && report.count(.notPlaced) == 2)
        let text = EvacuationReportText.render(report)
        #expect(text.contains("web1") && text.contains("moved") && text.contains("41 ms") && text.contains("8.2 s"), "\(text)")
        #expect(text.contains("NOT MOVED (rolled back)") && text.contains("the guest did not survive on h3"))
        #expect(text.contains("NOT MOVED (no host)") && text.contains("fits on no host (h2: QEMU on h2 does not know CPU model Westmere"), "\(text)")
        #expect(text.contains("1 of 4 VMs moved in 12 s (up to 2 at a time)."))
        #expect(text.hasSuffix("h1 still runs 3 VMs: db1, off1, web2. It stays in maintenance."))

        let empty = EvacuationReport(host: "h1", parallel: 1, startedAt: Date(), wallSeconds: 1, entries: [], leftOnHost: [])
        #expect(empty.hostEmpty && EvacuationReportText.render(empty).contains("h1 runs no VM now"))
        let unknown = EvacuationReport(host: "h1", parallel: 1, startedAt: Date(), wallSeconds: 1, entries: [], leftOnHost: nil)
        #expect(!unknown.hostEmpty)
    }

    @Test func progressHasALinePerVMAndAnOverallLine() {
        let start = ContinuousClock.now
        let jobs = [MigrationQueue.Job(vm: "web1", source: "h1", target: "h2"), MigrationQueue.Job(vm: "b", source: "h1", target: "h3")]
        var progress = MovesProgress(title: "evacuating h1", jobs: jobs, began: start)
        progress.apply(.started(jobs[0]), at: start)
        var p = MigrationProgress(status: "active")
        p.totalBytes = 1000
        p.remainingBytes = 250
        p.mbps = 83.88608
        progress.apply(.migration(vm: "web1", .progress(p, elapsed: .seconds(1))), at: start)
        var lines = progress.lines(now: start + .seconds(2))
        #expect(lines.count == 3)
        #expect(lines[0] == "  web1 → h2   75%  active  10.0 MiB/s  [2.0s]", "\(lines[0])")
        #expect(lines[1] == "  b    → h3  waiting")
        #expect(lines[2].hasPrefix("evacuating h1: 0 of 2 moved, 1 running, 1 waiting  [----"), "\(lines[2])")
        progress.apply(.finished(ServeMetricsTests.moved("web1", downtimeMs: 12, totalMs: 3000)), at: start + .seconds(3))
        progress.apply(.finished(MoveResult(vm: "b", source: "h1", target: "h3", outcome: .refused, reason: "h3 is in maintenance")), at: start + .seconds(3))
        lines = progress.lines(now: start + .seconds(4))
        #expect(lines[0].hasPrefix("  web1 → h2  moved (live, downtime 12 ms (QEMU))  [3.0s]"), "\(lines[0])")
        #expect(lines[1] == "  b    → h3  NOT MOVED (refused): h3 is in maintenance", "\(lines[1])")
        #expect(lines[2].hasPrefix("evacuating h1: 1 of 2 moved, 1 NOT moved  [####################]"), "\(lines[2])")
    }

    @Test func aVMTriedAgainStartsItsLineOver() {
        let start = ContinuousClock.now
        let job = MigrationQueue.Job(vm: "a", source: "h1", target: "h2")
        var progress = MovesProgress(title: "evacuating h1", jobs: [job], began: start)
        progress.apply(.started(job), at: start)
        progress.apply(.finished(MoveResult(vm: "a", source: "h1", target: "h2", outcome: .refused, reason: "h2 is in maintenance")), at: start)
        #expect(progress.notMoved == 1)
        progress.apply(.started(MigrationQueue.Job(vm: "a", source: "h1", target: "h3")), at: start + .seconds(1))
        #expect(progress.running == 1 && progress.notMoved == 0)
        #expect(progress.lines(now: start + .seconds(2))[0] == "  a → h3  starting  [1.0s]")
    }
}
