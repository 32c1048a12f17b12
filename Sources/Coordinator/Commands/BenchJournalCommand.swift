import ArgumentParser
import Foundation
import Logging

/// Times the journal writes of one live migration on the SQLite journal and
/// on etcd (docs/benchmarks.md, "Coordinator cluster"). Hidden: a tool for
/// us, not for operators.
struct BenchJournalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-journal",
        abstract: "Time one migration's journal writes on SQLite and on etcd.",
        shouldDisplay: false
    )

    @Option(help: "etcd client URLs, comma-separated (leave out to time SQLite only).") var etcd: String?
    @Option(help: "Migrations to journal on each store.") var runs = 50

    /// What a live migration writes: begin, its steps, two figure updates, finish.
    static let steps: [MigrationStep] = [
        .checked, .targetPrepared, .streaming, .switchover, .sourceCompleted, .targetResumed, .verified, .sourceReleased, .done,
    ]

    func run() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-bench-journal-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let sqlite = try SQLiteJournal(path: folder + "/coord.sqlite")
        print(try await Self.measure("sqlite", sqlite, runs: runs))
        guard let etcd else { return }
        let client = EtcdClient(endpoints: etcd.split(separator: ",").map(String.init))
        let keys = ClusterKeys(prefix: "/ferry-bench-\(getpid())/")
        let leadership = try await LeaderElection(client: client, keys: keys, name: "bench", leaseSeconds: 30, logger: Logger(label: "bench")).campaign()
        print(try await Self.measure("etcd", EtcdJournal(client: client, keys: keys, leadership: leadership), runs: runs))
        _ = try await client.delete(prefix: keys.prefix)
        try? await client.revokeLease(leadership.lease)
    }

    static func measure(_ name: String, _ journal: any MigrationJournal, runs: Int) async throws -> String {
        var times: [Double] = []
        for i in 0..<runs {
            let record = MigrationRecord(vm: "bench\(i % 10)", source: "h1", target: "h2", mode: "live", reason: "bench")
            let started = ContinuousClock.now
            try await journal.begin(record, owner: .current())
            for step in steps {
                try await journal.step(record.id, step, detail: "bench")
                if step == .streaming || step == .verified { try await journal.update(record.id, figures: MigrationFigures(totalMs: 1)) }
            }
            try await journal.finish(record.id, outcome: .succeeded, error: nil)
            times.append((ContinuousClock.now - started).milliseconds)
        }
        times.sort()
        let writes = 1 + steps.count + 2 + 1
        return String(format: "%@: %d migrations of %d journal writes each: median %.1f ms per migration (min %.1f, max %.1f), %.2f ms per write",
                      name, runs, writes, times[times.count / 2], times.first ?? 0, times.last ?? 0, times[times.count / 2] / Double(writes))
    }
}
