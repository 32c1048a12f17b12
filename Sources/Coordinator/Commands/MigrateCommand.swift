import ArgumentParser
@preconcurrency import Dispatch
import Foundation
import Shared

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Move a running VM to another host, live or cold, and prove it arrived alive.",
        discussion: """
            The migration follows prepare, perform, finish, confirm: the target's QEMU \
            starts paused and incoming; the source streams its memory and pauses before \
            switchover; only when the source has stopped for good does the target resume; \
            and only when the guest's heartbeat is seen continuing on the target (and its \
            memory check still passes) is the source's QEMU ended. Any failure before that \
            destroys the target's QEMU and leaves the guest running on the source.

            Modes:
              auto      measure the guest's dirty rate, then pick pre-copy, pre-copy with \
            a switch to post-copy if it stalls, post-copy, or stop-and-copy when a known \
            hypervisor bug makes live modes unsafe for this VM. The choice and the reason \
            are printed and journaled.
              live      pre-copy with auto-converge.
              postcopy  the guest moves to the target almost at once and pulls its memory \
            rest. Cannot be rolled back once it has switched.
              cold      pause the guest, copy its state, resume it on the target.

            Ctrl-C before the handover aborts cleanly: QEMU's migration is cancelled, the \
            target destroyed, the guest keeps running on the source. After the handover \
            the migration is finished rather than abandoned.

            Every step is written to the journal first (coord history); a coord that dies \
            mid-way leaves a record that coord recover settles.

            Examples:
              coord migrate web1 --to h2
              coord migrate db1 --to h3 --mode live --max-downtime 100 --bandwidth 500
              coord migrate web1 --to h2 --json | jq -c 'select(.type=="result")'
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The VM to move.") var name: String
    @Option(name: .customLong("to"), help: ArgumentHelp("The host to move it to.", valueName: "host")) var target: String
    @Option(name: .long, help: "auto, live, postcopy or cold.") var mode: MigrationMode = .auto
    @Option(name: .customLong("max-downtime"), help: ArgumentHelp("Longest pause the guest may see at switchover, milliseconds.", valueName: "ms"))
    var maxDowntime = 300
    @Option(name: .long, help: ArgumentHelp("Bandwidth cap for the stream, MiB/s (default: the configured link).", valueName: "MiB/s"))
    var bandwidth: Double?
    @Option(name: .customLong("verify-timeout"), help: ArgumentHelp("Seconds to wait for proof that the guest lives on the target.", valueName: "s"))
    var verifyTimeout = 30.0
    @Flag(name: .customLong("allow-known-bugs"), help: "Use a live mode even where a known hypervisor bug makes it unsafe (for testing; the guest may break, and Ferry then rolls back).")
    var allowKnownBugs = false
    @Flag(name: .long, help: "Stream progress and the result as JSON lines.") var json = false

    func validate() throws {
        if let problem = VMName.problem(name) { throw ValidationError(problem.description) }
        guard HostName.isValid(target) else { throw ValidationError("'\(target)' is not a host name") }
        guard (1...60_000).contains(maxDowntime) else { throw ValidationError("--max-downtime must be 1-60000 ms") }
        if let bandwidth, !(bandwidth > 0 && bandwidth <= 1_000_000) { throw ValidationError("--bandwidth must be above 0 MiB/s") }
        guard verifyTimeout >= 5 && verifyTimeout <= 600 else { throw ValidationError("--verify-timeout must be 5-600 seconds") }
    }

    func run() async throws {
        let config = try global.loadConfig()
        try config.refuseInCluster("coord migrate", instead: "queue an evacuation (coord evacuate HOST) or let the leader balance")
        _ = try config.host(named: target)
        let journal = try config.openStore()
        let abort = AbortSignal()
        let interrupt = InterruptWatch { abort.raise() }
        defer { interrupt.cancel() }
        let output = MigrationOutput(json: json)
        try await settleOrphans(config: config, journal: journal)
        let executor = MigrationExecutor(config: config, journal: journal, abort: abort, emit: { output.show($0) })
        let request = MigrationRequest(
            vm: name, target: target, mode: mode, maxDowntimeMs: maxDowntime, bandwidthMiBps: bandwidth,
            allowKnownBugs: allowKnownBugs, verifyTimeout: .seconds(verifyTimeout))
        let report: MigrationReport
        do {
            report = try await executor.run(request)
        } catch let error as MigrationError {
            output.refused(vm: name, target: target, reason: error.description)
            throw ExitCode(2)
        }
        output.finish(report)
        if report.outcome != .succeeded { throw ExitCode.failure }
    }
}

extension MigrateCommand {
    /// Settles unfinished migrations whose coord is gone, as `coord recover`
    /// would, so a crash never leaves a VM half-moved behind a new request.
    func settleOrphans(config: CoordConfig, journal: MigrationJournal) async throws {
        let json = self.json
        for record in try await journal.orphaned() {
            if !json { print("settling migration \(record.id) of \(record.vm), left unfinished by a coord that is gone") }
            let result = await MigrationSettler(config: config, journal: journal, emit: { if !json { print("  " + $0) } }).settle(record)
            if !json { print("  \(result.detail)") }
        }
    }
}

extension MigrationMode: ExpressibleByArgument {}

/// Turns SIGINT into a call, once, instead of killing coord mid-migration.
final class InterruptWatch: @unchecked Sendable {  // the source is only resumed and cancelled
    private let source: any DispatchSourceSignal

    init(_ onInterrupt: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            FileHandle.standardError.write(Data("\ncoord: aborting; the guest stays where it is\n".utf8))
            onInterrupt()
        }
        source.resume()
    }

    func cancel() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
