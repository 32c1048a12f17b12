import ArgumentParser
import Foundation

/// Offline balancing on a saved snapshot, like Ganeti's `hbal -t`.
struct BalanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "balance",
        abstract: "Plan moves that even out memory and CPU load, without making them.",
        discussion: "With --snapshot FILE, plans on that cluster snapshot (JSON, see docs/planner.md) and touches nothing."
    )

    @Option(help: ArgumentHelp("Cluster snapshot to plan on (JSON, docs/planner.md).", valueName: "file")) var snapshot: String
    @Option(help: "Most moves to plan.") var maxMoves = 10
    @Option(help: "Least score gain a move must bring.") var minGain = 0.001
    @Option(help: "Seconds a VM stays put after it migrated.") var coolDown: Double = 3600
    @Flag(help: "Print the plan as JSON.") var json = false

    func validate() throws {
        guard maxMoves >= 0 else { throw ValidationError("--max-moves must be 0 or more") }
        guard minGain >= 0 else { throw ValidationError("--min-gain must be 0 or more") }
        guard coolDown >= 0 else { throw ValidationError("--cool-down must be 0 or more seconds") }
    }

    func run() throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: snapshot))
        } catch {
            throw CoordError.invalidArgument("cannot read snapshot \(snapshot): \(error.localizedDescription)")
        }
        let cluster = try ClusterSnapshot.decode(data)
        let options = BalanceOptions(maxMoves: maxMoves, minGain: minGain, coolDownSeconds: coolDown)
        let plan = Balancer.plan(cluster, options: options, now: cluster.takenAt ?? Date())
        if json {
            try JSONOutput.print(plan)
            return
        }
        print(String(format: "score %.4f -> %.4f in %d moves", plan.scoreBefore, plan.scoreAfter, plan.moves.count))
        for (i, move) in plan.moves.enumerated() {
            print("\(i + 1). \(move.vm) \(move.source) -> \(move.target) (\(move.bytes >> 20) MiB, gain \(String(format: "%.4f", move.gain)))")
        }
    }
}
