import ArgumentParser
import Foundation

struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List migrations from the coordinator's journal, newest first.",
        discussion: """
            Reads only the journal (the SQLite file named by `journal:` in the \
            config; by default $XDG_STATE_HOME/coord/coord.sqlite or \
            ~/.local/state/coord/coord.sqlite). No agent needs to be reachable.

            Columns: ID (the start of the migration's id; --steps takes it), \
            STARTED (local time), VM, MOVE (source→target), MODE (live, \
            postcopy, cold or offline), RESULT (succeeded, rolled back, failed, \
            in progress while the coord running it lives, *unfinished* when that \
            coord is gone), SETUP, DOWNTIME (QEMU's own figure / the longest gap \
            in the guest's heartbeat, e.g. "41 ms / 63 ms"), TOTAL, BYTES \
            (transferred), ITER (RAM passes), DIRTY/S (pages dirtied per second \
            during streaming). A dash means not measured. Under a failed or \
            rolled-back row comes its error; under an unfinished one, the step \
            it stopped at and the coord that held it.

            When any migration is unfinished and its coord is gone, the last \
            line says so: run `coord recover` to finish or undo it.

            Examples:
              coord history                     the last 50 migrations
              coord history --vm web1 --limit 5
              coord history --steps 3f2a9c1e    every step of one migration, with times
              coord history --json | jq '.migrations[] | select(.outcome == "failed")'
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("Only migrations of this VM.", valueName: "name"))
    var vm: String?

    @Option(name: .long, help: ArgumentHelp("Show at most this many migrations.", valueName: "n"))
    var limit = 50

    @Option(name: .long, help: ArgumentHelp(
        "Show the journaled steps of one migration instead: its id, or the start of it as in the ID column.",
        valueName: "id"))
    var steps: String?

    @Flag(name: .long, help: "Print JSON ({\"migrations\": [...]}, or with --steps {\"migration\": ..., \"steps\": [...]}).")
    var json = false

    struct Output: Codable {
        var migrations: [MigrationRecord]
    }

    struct StepsOutput: Codable {
        var migration: MigrationRecord
        var steps: [JournalStep]
    }

    func validate() throws {
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let journal = try global.loadConfig().openStore()
        if let steps {
            let id = try await journal.resolveID(steps)
            guard let record = try await journal.record(id) else { throw JournalError.unknownMigration(id) }
            let list = try await journal.steps(id)
            if json {
                try JSONOutput.print(StepsOutput(migration: record, steps: list))
            } else {
                let held = try await journal.lockHolder(vm: record.vm).flatMap { $0.migrationID == id ? $0.owner : nil }
                print(HistoryReport.steps(record, list, lock: held.map(JournalLock.init(owner:))))
            }
            return
        }
        let records = try await journal.history(vm: vm, limit: limit)
        if json {
            try JSONOutput.print(Output(migrations: records))
            return
        }
        // Unfinished migrations may be older than the listed ones: look at all.
        let unfinished = try await journal.unfinished()
        var locks: [String: JournalLock] = [:]
        for record in unfinished {
            if let held = try await journal.lockHolder(vm: record.vm), held.migrationID == record.id {
                locks[record.id] = JournalLock(owner: held.owner)
            }
        }
        let orphans = unfinished.filter { locks[$0.id]?.inProgress != true }
        print(HistoryReport.table(records, locks: locks, orphans: orphans))
    }
}
