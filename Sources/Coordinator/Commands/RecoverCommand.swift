import ArgumentParser
import Foundation
import Shared

struct RecoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "Settle migrations that a coord left unfinished, so each VM runs in exactly one place.",
        discussion: """
            A coord that was killed, lost its network or crashed mid-migration leaves the \
            migration unfinished in the journal. recover asks both hosts where it got to and \
            settles it: if the source had stopped for good and the guest is verified alive on \
            the target, the migration is finished (source QEMU ended); otherwise the target's \
            QEMU is destroyed and the guest resumes (or keeps running) on the source. A \
            migration whose coord is still alive is left to it. coord migrate runs this first \
            for migrations whose coord is gone.

            Exit status is non-zero if anything is still unsettled (a host did not answer).

            Examples:
              coord recover
              coord recover --json
            """)

    @OptionGroup var global: GlobalOptions
    @Flag(name: .long, help: "Print the results as JSON.") var json = false

    func run() async throws {
        let config = try global.loadConfig()
        try config.refuseInCluster("coord recover", instead: "the leader settles unfinished migrations by itself when it takes over; coord history shows them")
        let journal = try config.openStore()
        let json = self.json
        let settler = MigrationSettler(config: config, journal: journal, emit: { if !json { print("  " + $0) } })
        var results: [MigrationSettler.Result] = []
        for record in try await journal.unfinished() {
            if !json { print("\(record.vm): migration \(record.id) \(record.source) → \(record.target), stopped at \(record.lastStep.rawValue)") }
            let result = await settler.settle(record)
            if !json { print("  \(result.detail)") }
            results.append(result)
        }
        if json {
            struct Output: Encodable { var settled: [MigrationSettler.Result] }
            try JSONOutput.print(Output(settled: results))
        } else if results.isEmpty {
            print("nothing to recover: no unfinished migrations")
        }
        if results.contains(where: { $0.outcome == nil }) { throw ExitCode.failure }
    }
}
