import ArgumentParser
import Foundation

struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Print the cluster as JSON, for offline planning (coord balance --snapshot).",
        discussion: """
            The schema is in docs/planner.md. VMs' CPU load and dirty rate are not \
            measured yet and are written as 0. Hosts in maintenance and when each VM \
            last migrated come from the journal (coord maintenance, coord history). A \
            host that does not answer is left out and named on standard error, and \
            the exit status is then 1, since the snapshot is incomplete.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("Write the snapshot to this file instead of standard output.", valueName: "file"))
    var output: String?

    func run() async throws {
        let config = try global.loadConfig()
        let live = try await LiveSnapshot.take(config: config, journal: try config.openStore())
        let reports = live.reports
        let data = try live.snapshot.encoded()
        if let output {
            try data.write(to: URL(fileURLWithPath: output))
        } else {
            print(String(decoding: data, as: UTF8.self))
        }
        let down = reports.filter { $0.state == .down }
        for report in down {
            FileHandle.standardError.write(Data("snapshot is missing \(report.name): \(report.reason ?? "no answer")\n".utf8))
        }
        if !down.isEmpty { throw ExitCode(1) }
    }
}
