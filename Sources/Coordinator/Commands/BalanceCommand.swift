import ArgumentParser
import Foundation
import Shared

/// Evens out memory and CPU load across the cluster, live or offline on a
/// saved snapshot (like Ganeti's `hbal -t`).
struct BalanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "balance",
        abstract: "Move VMs so that memory and CPU load are even across hosts.",
        discussion: """
            The cluster score (lower is better, 0 is perfectly even) is the standard \
            deviation over hosts of the share of memory used, plus that of the share of \
            CPU busy (docs/planner.md). Each move planned is the one that lowers the \
            score most per byte of guest RAM moved, among moves that every placement \
            rule allows (memory, CPU model, machine type, storage, anti-affinity; never \
            to a host that is down or in maintenance). Planning stops after \
            --max-moves, or when no move gains --min-gain. A VM that migrated less than \
            --cool-down seconds ago (coord history) is not moved, nor is a VM that is \
            not running.

            Live (the default): surveys the cluster, prints the plan, then makes the \
            moves one after another, each as `coord migrate` does (pre-checks, \
            journal, the guest verified alive on its target). The first move that \
            does not succeed ends the run, since later moves were planned on top of \
            it. --dry-run prints the plan only.

            Offline: with --snapshot FILE, plans on that snapshot (written by coord \
            snapshot or by hand; schema in docs/planner.md) and touches nothing; \
            the cool-down is measured from the snapshot's takenAt.

            Exit status: 0 when every planned move was made (or only planned); 1 \
            when a move did not succeed.

            Examples:
              coord balance --dry-run
              coord balance --max-moves 3 --min-gain 0.01
              coord snapshot --output cluster.json && coord balance --snapshot cluster.json --json
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("Plan on this cluster snapshot (JSON, docs/planner.md) and touch nothing.", valueName: "file"))
    var snapshot: String?
    @Flag(name: .customLong("dry-run"), help: "Print the plan only; move nothing.") var dryRun = false
    @Option(help: "Most moves to plan.") var maxMoves = 10
    @Option(help: "Least score gain a move must bring.") var minGain = 0.001
    @Option(help: ArgumentHelp("Seconds a VM stays put after it migrated.", valueName: "s")) var coolDown: Double = 3600
    @Option(name: .long, help: "auto, live, postcopy or cold, for every move (see coord migrate --help).")
    var mode: MigrationMode = .auto
    @Option(name: .customLong("max-downtime"), help: ArgumentHelp("Longest pause each guest may see at switchover, milliseconds.", valueName: "ms"))
    var maxDowntime = 300
    @Flag(help: "Print JSON: with --snapshot the plan; live, one JSON object per line (docs/json.md).") var json = false

    func validate() throws {
        guard maxMoves >= 0 else { throw ValidationError("--max-moves must be 0 or more") }
        guard minGain >= 0 else { throw ValidationError("--min-gain must be 0 or more") }
        guard coolDown >= 0 else { throw ValidationError("--cool-down must be 0 or more seconds") }
        guard (1...60_000).contains(maxDowntime) else { throw ValidationError("--max-downtime must be 1-60000 ms") }
    }

    var options: BalanceOptions { BalanceOptions(maxMoves: maxMoves, minGain: minGain, coolDownSeconds: coolDown) }

    func run() async throws {
        if let snapshot { return try offline(snapshot) }
        let config = try global.loadConfig()
        if !dryRun { try config.refuseInCluster("coord balance", instead: "coord balance --dry-run shows the plan; the leader's coord serve balances on its schedule") }
        let journal = try config.openStore()
        let output = MovesOutput(json: json)
        let abort = AbortSignal()
        let balance = LiveBalance(
            config: config, journal: journal, abort: abort, options: options,
            request: MigrationRequest(vm: "", target: "", mode: mode, maxDowntimeMs: maxDowntime), emit: { output.show($0) })
        if !dryRun { try await OrphanedMigrations.settle(config: config, journal: journal, say: { output.say($0) }) }
        let (plan, live) = try await balance.plan()
        for down in live.downHosts { output.say("note: \(down.name) does not answer (\(down.reason ?? "no reason given")); left out of the plan") }
        let now = live.snapshot.takenAt ?? Date()
        output.plan(plan, text: BalanceText.plan(plan, options: options, coolingDown: BalanceText.coolingDown(live.snapshot, options: options, now: now)), dryRun: dryRun)
        if dryRun || plan.moves.isEmpty { return }

        let interrupt = InterruptWatch { abort.raise() }
        defer { interrupt.cancel() }
        output.begin(title: "balancing", jobs: plan.moves.map { MigrationQueue.Job(vm: $0.vm, source: $0.source, target: $0.target) })
        let moves = await balance.run(plan)
        let report = BalanceReport(plan: plan, moves: moves, scoreAfter: try? await balance.score())
        output.finish(report, text: BalanceText.report(report))
        if !report.allMoved { throw ExitCode.failure }
    }

    private func offline(_ path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CoordError.invalidArgument("cannot read snapshot \(path): \(error.localizedDescription)")
        }
        let cluster = try ClusterSnapshot.decode(data)
        let now = cluster.takenAt ?? Date()
        let plan = Balancer.plan(cluster, options: options, now: now)
        if json {
            try JSONOutput.print(plan)
            return
        }
        print(BalanceText.plan(plan, options: options, coolingDown: BalanceText.coolingDown(cluster, options: options, now: now)))
    }
}
