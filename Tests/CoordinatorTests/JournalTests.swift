import Foundation
import Testing
@testable import Coordinator

@Suite struct JournalTests {
    @Test(arguments: JournalStore.allCases)
    func beginStepFinishRoundTrip(store: JournalStore) throws {
        let (journal, folder) = try store.open()
        defer { JournalFixture.remove(folder) }
        var record = JournalFixture.record()
        try journal.begin(record, owner: .current())
        #expect(try journal.record(record.id) == record)

        try journal.step(record.id, .checked, detail: "h2 can take it")
        try journal.step(record.id, .streaming)
        try journal.update(record.id, figures: MigrationFigures(setupMs: 12.5, bytes: 262_246_400))
        try journal.finish(record.id, outcome: .succeeded, error: nil)

        let read = try #require(try journal.record(record.id))
        #expect(read.outcome == .succeeded && read.error == nil && read.lastStep == .streaming)
        let finishedAt = try #require(read.finishedAt)
        #expect(abs(finishedAt.timeIntervalSinceNow) < 60)
        record.finishedAt = read.finishedAt
        record.outcome = .succeeded
        record.lastStep = .streaming
        record.figures = MigrationFigures(setupMs: 12.5, bytes: 262_246_400)
        #expect(read == record)
    }

    /// Any Date, not only round ones, and the lock owner read back equal.
    @Test(arguments: JournalStore.allCases)
    func datesAndOwnersReadBackExactly(store: JournalStore) throws {
        let (journal, folder) = try store.open()
        defer { JournalFixture.remove(folder) }
        for _ in 0..<50 {
            var record = JournalFixture.record(UUID().uuidString)
            record.startedAt = Date(timeIntervalSinceNow: .random(in: -1e8...1e8))
            try journal.begin(record, owner: .current())
            #expect(try journal.record(record.id) == record)
            #expect(try journal.lockHolder(vm: record.vm)?.owner == .current())
        }
    }

    @Test(arguments: JournalStore.allCases)
    func stepsComeBackInOrder(store: JournalStore) throws {
        let (journal, folder) = try store.open()
        defer { JournalFixture.remove(folder) }
        let record = JournalFixture.record()
        try journal.begin(record, owner: .current())
        let path: [MigrationStep] = [.checked, .targetPrepared, .streaming, .switchover, .sourceCompleted,
                                     .targetResumed, .verified, .sourceReleased, .done]
        for (index, step) in path.enumerated() { try journal.step(record.id, step, detail: "step \(index)") }

        let steps = try journal.steps(record.id)
        #expect(steps.map(\.step) == [.planned] + path)
        #expect(steps.map(\.seq) == Array(1...path.count + 1))
        #expect(steps.first?.detail == record.reason && steps.first?.at == record.startedAt)
        #expect(steps.dropFirst().map(\.detail) == path.indices.map { "step \($0)" })
        #expect(zip(steps.dropFirst(), steps.dropFirst(2)).allSatisfy { $0.at <= $1.at })
        #expect(try journal.record(record.id)?.lastStep == .done)
        #expect(try journal.steps("no-such-id").isEmpty)
    }

    @Test(arguments: JournalStore.allCases)
    func finishReleasesTheLockAndEndsTheMigration(store: JournalStore) throws {
        let (journal, folder) = try store.open()
        defer { JournalFixture.remove(folder) }
        let first = JournalFixture.record()
        try journal.begin(first, owner: .current())
        #expect(try journal.lockHolder(vm: "vm1")?.migrationID == first.id)

        try journal.finish(first.id, outcome: .rolledBack, error: "target lost its network")
        #expect(try journal.lockHolder(vm: "vm1") == nil)
        #expect(try journal.record(first.id)?.error == "target lost its network")
        #expect(throws: JournalError.self) { try journal.finish(first.id, outcome: .failed, error: nil) }
        #expect(throws: JournalError.self) { try journal.step(first.id, .done) }
        #expect(throws: JournalError.self) { try journal.step("no-such-id", .done) }

        let second = JournalFixture.record(at: 10)
        try journal.begin(second, owner: .current())
        #expect(try journal.lockHolder(vm: "vm1")?.migrationID == second.id)
        #expect(throws: JournalError.self) { try journal.begin(second, owner: .current()) }
    }

    @Test(arguments: JournalStore.allCases)
    func unfinishedListsOnlyUnfinishedOldestFirst(store: JournalStore) throws {
        let (journal, folder) = try store.open()
        defer { JournalFixture.remove(folder) }
        let late = JournalFixture.record("vm1", at: 30)
        let done = JournalFixture.record("vm2", at: 10)
        let early = JournalFixture.record("vm3", at: 20)
        for record in [late, done, early] { try journal.begin(record, owner: .current()) }
        try journal.finish(done.id, outcome: .succeeded, error: nil)
        #expect(try journal.unfinished().map(\.id) == [early.id, late.id])
    }

    @Test(arguments: JournalStore.allCases)
    func historyIsNewestFirstLimitedAndFiltered(store: JournalStore) throws {
        let (journal, folder) = try store.open()
        defer { JournalFixture.remove(folder) }
        var ids: [String: [String]] = [:]
        for n in 0..<6 {
            let record = JournalFixture.record(n % 2 == 0 ? "even" : "odd", at: Double(n))
            try journal.begin(record, owner: .current())
            try journal.finish(record.id, outcome: .succeeded, error: nil)
            ids[record.vm, default: []].append(record.id)
        }
        let all = try journal.history(vm: nil, limit: 50)
        #expect(all.count == 6)
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.startedAt > $1.startedAt })
        #expect(try journal.history(vm: nil, limit: 2).map(\.startedAt) == [JournalFixture.date(5), JournalFixture.date(4)])
        #expect(try journal.history(vm: "even", limit: 50).map(\.id) == ids["even"]!.reversed())
        #expect(try journal.history(vm: "odd", limit: 1).map(\.id) == [ids["odd"]!.last!])
        #expect(try journal.history(vm: "none", limit: 50).isEmpty)
    }

    @Test(arguments: JournalStore.allCases)
    func figuresMergeNonNilFields(store: JournalStore) throws {
        let (journal, folder) = try store.open()
        defer { JournalFixture.remove(folder) }
        let record = JournalFixture.record()
        try journal.begin(record, owner: .current())
        try journal.update(record.id, figures: MigrationFigures(setupMs: 40, downtimeMsQEMU: 41, bytes: 1 << 30, iterations: 3))
        try journal.update(record.id, figures: MigrationFigures(downtimeMsQEMU: 44, downtimeMsGuest: 63, dirtyRatePagesPerSecond: 1200))
        try journal.finish(record.id, outcome: .succeeded, error: nil)
        try journal.update(record.id, figures: MigrationFigures(totalMs: 2500, verifyMs: 7))
        #expect(try journal.record(record.id)?.figures == MigrationFigures(
            setupMs: 40, downtimeMsQEMU: 44, downtimeMsGuest: 63, totalMs: 2500, bytes: 1 << 30, iterations: 3,
            dirtyRatePagesPerSecond: 1200, verifyMs: 7))
        #expect(throws: JournalError.self) { try journal.update("no-such-id", figures: MigrationFigures()) }
    }

    @Test(arguments: JournalStore.allCases)
    func maintenanceSetAndClear(store: JournalStore) throws {
        let (journal, folder) = try store.open()
        defer { JournalFixture.remove(folder) }
        #expect(try journal.maintenance().isEmpty)
        #expect(try journal.setMaintenance("h1", on: true, reason: "BIOS update"))
        let since = try #require(try journal.maintenance(host: "h1")?.since)
        #expect(try !journal.setMaintenance("h1", on: true, reason: nil))
        #expect(try journal.maintenance()["h1"] == MaintenanceEntry(since: since, reason: "BIOS update"))
        #expect(try !journal.setMaintenance("h1", on: true, reason: "new disk"))
        #expect(try journal.maintenance()["h1"] == MaintenanceEntry(since: since, reason: "new disk"))
        #expect(try journal.setMaintenance("h2", on: true, reason: nil))
        #expect(try Set(journal.maintenance().keys) == ["h1", "h2"])

        #expect(try journal.setMaintenance("h1", on: false, reason: nil))
        #expect(try !journal.setMaintenance("h1", on: false, reason: nil))
        #expect(try journal.maintenance().keys.sorted() == ["h2"])
        #expect(try journal.maintenance(host: "h1") == nil)
    }

    @Test func resolveIDTakesAUniquePrefixInAnyCase() throws {
        let journal = try SQLiteJournal.inMemory()
        try journal.begin(JournalFixture.record("a", id: "ABCD-1"), owner: .current())
        try journal.begin(JournalFixture.record("b", id: "ABCE-2"), owner: .current())
        #expect(try journal.resolveID("abcd") == "ABCD-1")
        #expect(try journal.resolveID("ABCE-2") == "ABCE-2")
        #expect(throws: JournalError.self) { try journal.resolveID("abc") }
        #expect(throws: JournalError.self) { try journal.resolveID("zz") }
        #expect(throws: JournalError.self) { try journal.resolveID("") }
    }
}
