import Foundation
import GRDB

/// The coordinator's state store: every migration and each of its steps, the
/// per-VM migration locks, and the hosts in maintenance, in one SQLite file.
///
/// Every write is one IMMEDIATE transaction: SQLite's file lock serialises
/// writers across threads and processes, so two coords sharing a journal
/// cannot both take a VM's lock. WAL mode lets readers (`coord history`) go
/// on while a migration writes; a writer waits up to 5 s for another.
final class SQLiteJournal: Sendable {
    /// The file, or ":memory:".
    let path: String
    let queue: DatabaseQueue

    static let busyTimeout: TimeInterval = 5

    /// Opens (creating if needed) the journal at `path` and brings its schema
    /// up to date.
    convenience init(path: String) throws {
        try JournalFile.prepare(path)
        var configuration = Self.configuration()
        configuration.journalMode = .wal
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw JournalError.cannotOpen(path: path, reason: Self.reason(error))
        }
        try self.init(queue: queue, path: path)
    }

    /// A journal that lives only as long as this object, for tests.
    static func inMemory() throws -> SQLiteJournal {
        try SQLiteJournal(queue: DatabaseQueue(configuration: configuration()), path: ":memory:")
    }

    private init(queue: DatabaseQueue, path: String) throws {
        self.queue = queue
        self.path = path
        do {
            if try queue.read({ try JournalSchema.migrator.hasBeenSuperseded($0) }) {
                throw JournalError.newerSchema(path: path)
            }
            try JournalSchema.migrator.migrate(queue)
        } catch let error as DatabaseError {
            throw JournalError.cannotOpen(path: path, reason: Self.reason(error))
        }
    }

    private static func configuration() -> Configuration {
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.foreignKeysEnabled = true
        configuration.label = "coord journal"
        return configuration
    }

    // MARK: Access with context

    /// One IMMEDIATE transaction; SQLite errors come out naming the file and
    /// what was being done.
    func write<T>(_ doing: @autoclosure () -> String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.write(body)
        } catch let error as DatabaseError {
            throw JournalError.storage(path: path, doing: doing(), reason: Self.reason(error))
        }
    }

    func read<T>(_ doing: @autoclosure () -> String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.read(body)
        } catch let error as DatabaseError {
            throw JournalError.storage(path: path, doing: doing(), reason: Self.reason(error))
        }
    }

    private static func reason(_ error: Error) -> String {
        guard let error = error as? DatabaseError else { return "\(error)" }
        if error.resultCode == .SQLITE_BUSY {
            return "another coord kept it busy for more than \(Int(busyTimeout)) s"
        }
        return error.message ?? "\(error)"
    }
}
