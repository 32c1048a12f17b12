import Foundation
@testable import Coordinator

/// Journals for tests: in memory, or in a fresh file under a temporary
/// folder that `cleanup` removes.
enum JournalStore: String, CaseIterable, Sendable {
    case memory, file

    func open() throws -> (journal: SQLiteJournal, folder: String?) {
        switch self {
        case .memory:
            return (try SQLiteJournal.inMemory(), nil)
        case .file:
            let folder = JournalFixture.temporaryFolder()
            return (try SQLiteJournal(path: folder + "/state/coord.sqlite"), folder)
        }
    }
}

enum JournalFixture {
    static func temporaryFolder() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("journal-tests-\(UUID().uuidString)").path
    }

    static func remove(_ folder: String?) {
        if let folder { try? FileManager.default.removeItem(atPath: folder) }
    }

    /// A fixed time, `seconds` after an arbitrary start.
    static func date(_ seconds: Double) -> Date { Date(timeIntervalSince1970: 1_760_000_000 + seconds) }

    static func record(_ vm: String = "vm1", id: String = UUID().uuidString, at seconds: Double = 0) -> MigrationRecord {
        MigrationRecord(
            id: id, vm: vm, source: "h1", target: "h2", mode: "live", reason: "shared storage, guest running",
            startedAt: date(seconds))
    }

    /// A pid no process has now (checked with kill(pid, 0)), from the top
    /// of the pid range where the kernel rarely is.
    static func deadPid() -> Int32 {
        let max = Int32(String(decoding: FileManager.default.contents(atPath: "/proc/sys/kernel/pid_max") ?? Data(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 32768
        var pid = max - 1
        while pid > 1000 {
            if kill(pid, 0) != 0 && errno == ESRCH { return pid }
            pid -= 1
        }
        fatalError("no free pid found")
    }

    static func deadOwner() -> LockOwner {
        LockOwner(pid: deadPid(), hostname: ProcessIdentity.hostname(), startedAt: date(-100))
    }
}
