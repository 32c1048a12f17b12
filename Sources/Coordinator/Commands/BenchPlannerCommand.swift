import ArgumentParser
import Foundation

/// Times the planner on a generated cluster and prints the numbers
/// (docs/benchmarks.md, "Planner"). Hidden: a tool for us, not for operators.
struct BenchPlannerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-planner",
        abstract: "Time an evacuation and a balancing plan on a generated cluster.",
        shouldDisplay: false
    )

    @Option(help: "Hosts in the generated cluster.") var hosts = 100
    @Option(help: "VMs in the generated cluster.") var vms = 1000
    @Option(help: "Seed of the generator.") var seed: UInt64 = 1
    @Option(help: "Hosts to evacuate at once (the ones running most VMs).") var evacuate = 1
    @Option(help: "Moves the balancing plan may make.") var maxMoves = 50
    @Option(help: "Least gain per balancing move (0: take every improving move, to time a full plan).") var minGain = 0.0

    func run() throws {
        let snapshot = SyntheticCluster.make(hosts: hosts, vms: vms, seed: seed)
        let busiest = Dictionary(grouping: snapshot.vms, by: \.host)
            .sorted { a, b in a.value.count != b.value.count ? a.value.count > b.value.count : a.key < b.key }
            .prefix(evacuate).map(\.key)
        let clock = ContinuousClock()
        var evacuation: EvacuationPlan?
        let evacuationTime = clock.measure { evacuation = EvacuationPlanner.plan(snapshot, evacuating: Set(busiest)) }
        var balance: BalancePlan?
        let balanceTime = clock.measure {
            balance = Balancer.plan(snapshot, options: BalanceOptions(maxMoves: maxMoves, minGain: minGain), now: snapshot.takenAt ?? Date())
        }
        print("cluster: \(snapshot.hosts.count) hosts, \(snapshot.vms.count) VMs placed (seed \(seed))")
        if let e = evacuation {
            print("evacuate \(busiest.count) host(s), \(e.placements.count + e.unplaced.count) VMs: \(ms(evacuationTime)) ms, \(e.placements.count) placed, \(e.unplaced.count) unplaced (\(e.method)), makespan \(String(format: "%.0f", e.schedule.makespanSeconds)) s")
        }
        if let b = balance {
            print("balance (max \(maxMoves) moves): \(ms(balanceTime)) ms, \(b.moves.count) moves, score \(String(format: "%.4f", b.scoreBefore)) -> \(String(format: "%.4f", b.scoreAfter))")
        }
        print("peak RSS: \(peakRSS())")
    }

    private func ms(_ d: Duration) -> String {
        String(format: "%.1f", Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
    }

    private func peakRSS() -> String {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return "unknown" }
        let kib = Double(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        return String(format: "%.1f MiB", kib / 1024)
    }
}
