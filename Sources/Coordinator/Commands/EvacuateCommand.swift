import ArgumentParser
import Foundation
import Shared

struct EvacuateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evacuate",
        abstract: "Move every VM off a host, several at a time, and leave the host in maintenance.",
        discussion: """
            In order:
              1. HOST is put in maintenance (coord maintenance): from now on nothing \
            is placed on or migrated to it. It stays there until `coord maintenance \
            exit HOST`, whatever happens next.
              2. The cluster is surveyed and a plan made: each VM goes to a host that \
            is up and not in maintenance, has the memory, runs its CPU model and \
            machine type, reaches its disks and holds no VM of its anti-affinity \
            group; biggest VMs first, each to the host left with the most free \
            memory. Since every host being emptied is in maintenance before its plan \
            is made, evacuating several hosts at once (several coord evacuate) never \
            sends a VM to a host that is itself being emptied.
              3. The plan is printed: each VM's target in the order they start, and \
            each VM that fits nowhere with every host's reason. Such a VM stays \
            running on HOST.
              4. The migrations run, up to --parallel at once (and at most 2 arriving \
            at any one host), longest first, each exactly as `coord migrate` runs it: \
            pre-checks, journal, live or cold as --mode says, the guest verified \
            alive on the target. A migration that is refused or fails leaves its VM \
            running on HOST; the others go on. Refused VMs (nothing was touched) \
            are planned once more on a fresh survey and tried again.
              5. A report: each VM, where it went, how, its downtime and time, or why \
            it did not move; then what HOST still runs, asked afresh.

            Progress is a line per VM and one overall, rewritten in place on a \
            terminal and printed every 5 s otherwise. Ctrl-C starts no new \
            migration and rolls back those not yet handed over.

            --dry-run prints the plan and changes nothing (HOST is not put in \
            maintenance, so the plan is what an evacuation would do now).

            Exit status: 0 when HOST runs no VM at the end (with --dry-run: when \
            the plan moves every VM); 1 when anything is left on it, or HOST does \
            not answer.

            Examples:
              coord evacuate h1 --dry-run
              coord evacuate h1 --reason "BIOS update, ticket 4411"
              coord evacuate h1 --parallel 4 --mode live --max-downtime 100
              coord evacuate h1 --json | jq -c 'select(.type=="result")'
              coord maintenance exit h1        # when the work on h1 is done
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The host to empty, as named in the config.") var host: String
    @Flag(name: .customLong("dry-run"), help: "Print the plan only; change nothing.") var dryRun = false
    @Option(name: .long, help: ArgumentHelp("Most migrations at once.", valueName: "n")) var parallel = 2
    @Option(name: .long, help: "auto, live, postcopy or cold, for every migration (see coord migrate --help).")
    var mode: MigrationMode = .auto
    @Option(name: .customLong("max-downtime"), help: ArgumentHelp("Longest pause each guest may see at switchover, milliseconds.", valueName: "ms"))
    var maxDowntime = 300
    @Option(name: .long, help: ArgumentHelp("Bandwidth cap per migration, MiB/s (default: the configured link).", valueName: "MiB/s"))
    var bandwidth: Double?
    @Option(name: .customLong("verify-timeout"), help: ArgumentHelp("Seconds to wait for proof that a guest lives on its target.", valueName: "s"))
    var verifyTimeout = 30.0
    @Option(name: .long, help: ArgumentHelp("Why, recorded with the maintenance flag (coord maintenance list).", valueName: "text"))
    var reason: String?
    @Flag(name: .long, help: "Stream the plan, progress, each result and the report as JSON lines (docs/json.md).") var json = false

    func validate() throws {
        guard HostName.isValid(host) else { throw ValidationError("'\(host)' is not a host name") }
        guard (1...64).contains(parallel) else { throw ValidationError("--parallel must be 1-64") }
        guard (1...60_000).contains(maxDowntime) else { throw ValidationError("--max-downtime must be 1-60000 ms") }
        if let bandwidth, !(bandwidth > 0 && bandwidth <= 1_000_000) { throw ValidationError("--bandwidth must be above 0 MiB/s") }
        guard verifyTimeout >= 5 && verifyTimeout <= 600 else { throw ValidationError("--verify-timeout must be 5-600 seconds") }
    }

    func run() async throws {
        let config = try global.loadConfig()
        _ = try config.host(named: host)
        if config.isCluster && !dryRun {
            try await runInCluster(config)
            return
        }
        let journal = try config.openStore()
        let output = MovesOutput(json: json)
        let abort = AbortSignal()
        let evacuation = Evacuation(
            config: config, journal: journal, host: host, parallel: parallel,
            request: MigrationRequest(
                vm: "", target: "", mode: mode, maxDowntimeMs: maxDowntime, bandwidthMiBps: bandwidth,
                verifyTimeout: .seconds(verifyTimeout)),
            output: output, abort: abort)

        if dryRun {
            let plan = try await evacuation.plan()
            output.plan(plan, host: host, parallel: parallel, dryRun: true)
            if !plan.unplaced.isEmpty { throw ExitCode.failure }
            return
        }
        try await OrphanedMigrations.settle(config: config, journal: journal, say: { output.say($0) })
        let interrupt = InterruptWatch { abort.raise() }
        defer { interrupt.cancel() }
        let report = try await evacuation.perform(reason: reason)
        if !report.hostEmpty { throw ExitCode.failure }
    }
}

extension EvacuateCommand {
    /// With a coordinator cluster: queue the evacuation for whichever
    /// coordinator leads, and print its progress until it ends.
    func runInCluster(_ config: CoordConfig) async throws {
        let client = try config.etcdClient()
        let operation = QueuedOperation(
            id: QueuedOperation.newID(),
            evacuate: .init(
                host: host, parallel: parallel, mode: mode, maxDowntimeMs: maxDowntime, bandwidthMiBps: bandwidth,
                verifyTimeoutSeconds: verifyTimeout, reason: reason),
            json: json, state: .queued, requestedAt: Date(), requestedBy: "\(ProcessIdentity.hostname()) pid \(getpid())",
            runBy: [])
        let result: QueuedOperation
        do {
            result = try await OperationFollower(client: client, keys: config.clusterKeys)
                .submitAndFollow(operation, say: { print($0); fflush(nil) })
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
        if !json { print("operation \(result.id) \(result.state.rawValue): \(result.summary ?? "")") }
        if result.state != .succeeded { throw ExitCode.failure }
    }
}
