import Foundation
import Testing
@testable import Coordinator

@Suite struct JournalHistoryTests {
    @Test func tableShowsFiguresErrorsAndTheRecoverHint() throws {
        var ok = JournalFixture.record("web1", id: "3F2A9C1E-0001", at: 0)
        ok.outcome = .succeeded
        ok.figures = MigrationFigures(
            setupMs: 120.4, downtimeMsQEMU: 41, downtimeMsGuest: 63, totalMs: 2450, bytes: 262_246_400, iterations: 4,
            dirtyRatePagesPerSecond: 12_345)
        var failed = JournalFixture.record("db1", id: "7B11D0AA-0002", at: 10)
        failed.outcome = .failed
        failed.error = String(repeating: "the target lost its network ", count: 6)
        let stuck = JournalFixture.record("cache1", id: "C0FFEE00-0003", at: 20)
        let locks = [stuck.id: JournalLock(owner: JournalFixture.deadOwner())]

        let text = HistoryReport.table([stuck, failed, ok], locks: locks, orphans: [stuck])
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("ID        STARTED"))
        #expect(lines[1].contains("cache1") && lines[1].contains("*unfinished*"))
        #expect(lines[2].hasPrefix("    stopped at step planned; coord pid"))
        #expect(lines[3].contains("db1") && lines[3].contains("failed"))
        #expect(lines[4].hasPrefix("    error: the target") && lines[5].hasPrefix("    "), "wrapped under the row")
        #expect(lines[4...5].allSatisfy { $0.count <= 100 })
        let web = try #require(lines.first { $0.contains("web1") })
        for cell in ["3F2A9C1E", "h1→h2", "live", "succeeded", "120 ms", "41 ms / 63 ms", "2.5 s", "250 MiB", "4", "12.3k"] {
            #expect(web.contains(cell), "\(cell) in \(web)")
        }
        #expect(text.replacingOccurrences(of: "\n", with: " ").hasSuffix("run `coord recover` to finish or undo it."))
    }

    @Test func liveOwnerIsInProgressAndNeedsNoRecovery() {
        let running = JournalFixture.record()
        let text = HistoryReport.table([running], locks: [running.id: JournalLock(owner: .current())], orphans: [])
        #expect(text.contains("in progress") && !text.contains("coord recover"))
        #expect(HistoryReport.table([], locks: [:], orphans: []) == "No migrations in the journal.")
    }

    @Test func stepsListingShowsElapsedTime() {
        var record = JournalFixture.record()
        record.outcome = .rolledBack
        record.error = "switchover timed out"
        let steps = [
            JournalStep(migrationID: record.id, seq: 1, step: .planned, detail: "why", at: record.startedAt),
            JournalStep(migrationID: record.id, seq: 2, step: .rollingBack, detail: "timeout", at: record.startedAt + 1.25),
        ]
        let text = HistoryReport.steps(record, steps, lock: nil)
        #expect(text.contains("result: rolled back") && text.contains("error: switchover timed out"))
        #expect(text.contains("+1.250 s  rollingBack  timeout"))
    }

    @Test(arguments: [
        (nil, "-"), (0.4, "0 ms"), (41, "41 ms"), (999.4, "999 ms"), (999.6, "1.0 s"), (12_340, "12.3 s"),
        (59_990, "1m00s"), (245_000, "4m05s"),
    ] as [(Double?, String)])
    func durations(ms: Double?, shown: String) {
        #expect(HistoryFormat.duration(ms) == shown)
    }

    @Test func downtimeRateAndWrap() {
        #expect(HistoryFormat.downtime(MigrationFigures()) == "-")
        #expect(HistoryFormat.downtime(MigrationFigures(downtimeMsQEMU: 41)) == "41 ms / -")
        #expect(HistoryFormat.rate(850) == "850" && HistoryFormat.rate(12_345) == "12.3k" && HistoryFormat.rate(2_500_000) == "2.5M")
        #expect(HistoryFormat.wrap("aaa bbb ccc", indent: 2, width: 9) == ["  aaa bbb", "  ccc"])
        #expect(HistoryFormat.wrap(String(repeating: "x", count: 20), indent: 2, width: 10) == ["  " + String(repeating: "x", count: 20)])
    }

    @Test func maintenanceListMarksHostsGoneFromTheConfig() {
        let since = JournalFixture.date(0)
        let text = MaintenanceCommand.List.table([
            .init(name: "h1", since: since, reason: "BIOS", inConfig: true),
            .init(name: "old", since: since, reason: nil, inConfig: false),
        ])
        #expect(text.contains("h1  ") && text.contains("BIOS") && text.contains("old (not in config)"))
        #expect(MaintenanceCommand.List.table([]) == "No host is in maintenance.")
    }
}
