import Foundation
import Testing
@testable import Coordinator

@Suite struct JournalFileTests {
    @Test func createsOwnerOnlyFolderAndFileAndKeepsDataAcrossOpens() throws {
        let folder = JournalFixture.temporaryFolder()
        defer { JournalFixture.remove(folder) }
        let path = folder + "/a/b/coord.sqlite"
        let record = JournalFixture.record()
        do {
            let journal = try SQLiteJournal(path: path)
            try journal.begin(record, owner: .current())
            try journal.setMaintenance("h3", on: true, reason: "RAM swap")
        }
        #expect(try mode(path) == 0o600)
        #expect(try mode(folder + "/a/b") == 0o700)
        #expect(try mode(folder + "/a") == 0o700)

        let reopened = try SQLiteJournal(path: path)
        #expect(try reopened.record(record.id) == record)
        #expect(try reopened.maintenance()["h3"]?.reason == "RAM swap")
        let journalMode = try reopened.queue.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        #expect(journalMode == "wal")
        for sidecar in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: path + sidecar) {
            #expect(try mode(path + sidecar) == 0o600, "\(sidecar)")
        }
    }

    @Test func refusesAJournalFromANewerCoord() throws {
        let folder = JournalFixture.temporaryFolder()
        defer { JournalFixture.remove(folder) }
        let path = folder + "/coord.sqlite"
        try SQLiteJournal(path: path).queue.write {
            try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99: from the future')")
        }
        let error = try #require(throws: JournalError.self) { try SQLiteJournal(path: path) }
        #expect("\(error)".contains(path) && "\(error)".contains("newer coord"))
    }

    @Test func unopenablePathNamesTheFile() throws {
        let error = try #require(throws: JournalError.self) { try SQLiteJournal(path: "/proc/no/such/coord.sqlite") }
        #expect("\(error)".contains("/proc/no/such/coord.sqlite"))
    }

    @Test func configJournalPathIsRelativeToTheConfigAndDefaultsToXDGState() throws {
        let base = "knownHosts: k\nhosts: []\n"
        let relative = try CoordConfig.parse(base + "journal: state/coord.sqlite", path: "/etc/coord/coord.yaml")
        #expect(relative.journalPath() == "/etc/coord/state/coord.sqlite")
        let absolute = try CoordConfig.parse(base + "journal: /var/lib/coord/j.sqlite", path: "/etc/coord/coord.yaml")
        #expect(absolute.journalPath() == "/var/lib/coord/j.sqlite")

        let unset = try CoordConfig.parse(base, path: "/etc/coord/coord.yaml")
        #expect(unset.journal == nil)
        #expect(unset.journalPath(environment: ["XDG_STATE_HOME": "/x/state"], home: "/home/op") == "/x/state/coord/coord.sqlite")
        #expect(unset.journalPath(environment: ["XDG_STATE_HOME": "rel"], home: "/home/op") == "/home/op/.local/state/coord/coord.sqlite")
        #expect(unset.journalPath(environment: [:], home: "/home/op") == "/home/op/.local/state/coord/coord.sqlite")
    }

    private func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }
}
