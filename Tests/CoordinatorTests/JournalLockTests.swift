import Foundation
import Testing
@testable import Coordinator

@Suite struct JournalLockTests {
    @Test func secondCoordOnTheSameFileIsRefusedWhileTheOwnerLives() throws {
        let folder = JournalFixture.temporaryFolder()
        defer { JournalFixture.remove(folder) }
        let path = folder + "/coord.sqlite"
        let first = try SQLiteJournal(path: path)
        let second = try SQLiteJournal(path: path)
        let holder = JournalFixture.record()
        try first.begin(holder, owner: .current())

        let other = JournalFixture.record(at: 5)
        let error = try #require(throws: VMLockedError.self) { try second.begin(other, owner: .current()) }
        #expect(error.vm == "vm1" && error.migrationID == holder.id && error.owner.pid == getpid())
        #expect(error.description.contains(holder.id) && error.description.contains("pid \(getpid())"))
        #expect(try second.record(other.id) == nil, "the refused migration must leave no trace")

        try first.finish(holder.id, outcome: .succeeded, error: nil)
        try second.begin(other, owner: .current())
        #expect(try first.lockHolder(vm: "vm1")?.migrationID == other.id)
    }

    @Test(arguments: JournalStore.allCases)
    func staleLockOfADeadCoordIsTakenOverBeforeAnyHostWasTouched(store: JournalStore) throws {
        let (journal, folder) = try store.open()
        defer { JournalFixture.remove(folder) }
        let dead = JournalFixture.deadOwner()
        let stale = JournalFixture.record()
        try journal.begin(stale, owner: dead)
        try journal.step(stale.id, .checked)

        let fresh = JournalFixture.record(at: 60)
        try journal.begin(fresh, owner: .current())
        let holder = try #require(try journal.lockHolder(vm: "vm1"))
        #expect(holder.migrationID == fresh.id && holder.owner == .current())
        let closed = try #require(try journal.record(stale.id))
        #expect(closed.outcome == .failed)
        #expect(closed.error?.contains("abandoned") == true && closed.error?.contains("pid \(dead.pid)") == true)
        #expect(try journal.unfinished().map(\.id) == [fresh.id])
    }

    @Test(arguments: JournalStore.allCases)
    func staleLockOfAHalfDoneMigrationNeedsRecoveryThenCanBeAdopted(store: JournalStore) throws {
        let (journal, folder) = try store.open()
        defer { JournalFixture.remove(folder) }
        let stale = JournalFixture.record()
        try journal.begin(stale, owner: JournalFixture.deadOwner())
        try journal.step(stale.id, .streaming)

        let error = try #require(throws: VMNeedsRecoveryError.self) {
            try journal.begin(JournalFixture.record(at: 60), owner: .current())
        }
        #expect(error.migrationID == stale.id && error.lastStep == .streaming)
        #expect(error.description.contains("coord recover"))

        try journal.adopt(stale.id, owner: .current())
        #expect(try journal.lockHolder(vm: "vm1")?.owner == .current())
        try journal.adopt(stale.id, owner: .current())  // adopting what we hold is fine
        try journal.finish(stale.id, outcome: .rolledBack, error: "recovered: target destroyed, source resumed")
        #expect(try journal.lockHolder(vm: "vm1") == nil)
    }

    @Test func adoptRefusesALiveOrUnjudgeableOwner() throws {
        let journal = try SQLiteJournal.inMemory()
        let mine = JournalFixture.record("vm1")
        try journal.begin(mine, owner: .current())
        var elsewhere = LockOwner.current()
        elsewhere.hostname = "other-admin-box"
        let theirs = JournalFixture.record("vm2")
        try journal.begin(theirs, owner: elsewhere)

        let impostor = LockOwner(pid: JournalFixture.deadPid(), hostname: ProcessIdentity.hostname(), startedAt: Date())
        #expect(throws: VMLockedError.self) { try journal.adopt(mine.id, owner: impostor) }
        let error = try #require(throws: VMLockedError.self) { try journal.adopt(theirs.id, owner: .current()) }
        #expect(error.description.contains("other-admin-box") && error.description.contains("cannot tell"))
        #expect(throws: JournalError.self) { try journal.adopt("no-such-id", owner: .current()) }
        #expect(try journal.lockHolder(vm: "vm1")?.owner == .current())
    }

    @Test func livenessSeesDeadPidsReusedPidsAndReboots() {
        let me = LockOwner.current()
        #expect(me.liveness() == .alive)
        #expect(me.startTicks != nil && me.bootID != nil, "Linux /proc should tell")
        guard case .dead = JournalFixture.deadOwner().liveness() else { Issue.record("dead pid seen alive"); return }

        var reused = me
        reused.startTicks = me.startTicks.map { $0 + 1 }
        guard case .dead = reused.liveness() else { Issue.record("reused pid seen alive"); return }
        var rebooted = me
        rebooted.bootID = "00000000-0000-0000-0000-000000000000"
        guard case .dead = rebooted.liveness() else { Issue.record("owner from before a reboot seen alive"); return }
        var remote = me
        remote.hostname = "somewhere-else"
        #expect(remote.liveness() == .unknown)
        #expect(abs(me.startedAt.timeIntervalSinceNow) < 24 * 3600)
    }

    /// Two coords race to migrate the same VMs: for each VM exactly one wins.
    @Test(arguments: JournalStore.allCases)
    func concurrentBeginsForOneVMHaveOneWinner(store: JournalStore) async throws {
        let (journal, folder) = try store.open()
        defer { JournalFixture.remove(folder) }
        let rival = try folder.map { try SQLiteJournal(path: $0 + "/state/coord.sqlite") } ?? journal
        for round in 0..<10 {
            let vm = "race\(round)"
            let wins = await withTaskGroup(of: Bool.self) { group in
                for contender in [journal, rival] {
                    group.addTask {
                        do {
                            try contender.begin(JournalFixture.record(vm), owner: .current())
                            return true
                        } catch is VMLockedError {
                            return false
                        } catch {
                            Issue.record("unexpected: \(error)")
                            return false
                        }
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(wins == 1, "round \(round)")
            #expect(try journal.history(vm: vm, limit: 10).count == 1)
        }
    }
}
