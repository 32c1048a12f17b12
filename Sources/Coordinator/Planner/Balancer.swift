import Foundation

struct BalanceOptions: Codable, Sendable, Equatable {
    var maxMoves = 10
    /// A move must lower the score by at least this much.
    var minGain = 0.001
    /// A VM that migrated less than this long ago stays put (no ping-pong).
    var coolDownSeconds: Double = 3600
    var memoryWeight = 1.0
    var cpuWeight = 1.0
    /// How many of the most and least loaded hosts each step looks at as
    /// sources and targets; with 2 × this many hosts or fewer, it looks at all.
    var candidateHosts = 24
}

struct BalancePlan: Codable, Sendable, Equatable {
    struct Move: Codable, Sendable, Equatable {
        var vm: String
        var source: String
        var target: String
        /// Guest RAM to send.
        var bytes: UInt64
        var scoreAfter: Double
        var gain: Double
    }

    var scoreBefore: Double
    var scoreAfter: Double
    /// In the order they are to be made.
    var moves: [Move]
}

/// Plans moves that even the cluster out, the way Ganeti's hbal does: each
/// step takes, among feasible moves, the one lowering `ClusterScore` most per
/// byte moved, until `maxMoves` or no move gains `minGain`. Pure and
/// deterministic. A step that would not lower the (recomputed) score is
/// never taken, so the plan never raises it.
///
/// Each step looks at VMs on the `candidateHosts` hosts furthest above the
/// mean and at the same number furthest below as targets, not every pair:
/// that keeps a step cheap on 1,000 hosts, at the cost of missing a move
/// between two hosts near the mean.
enum Balancer {
    static func plan(_ snapshot: ClusterSnapshot, options: BalanceOptions = BalanceOptions(), now: Date) -> BalancePlan {
        var cluster = PlanningCluster(snapshot)
        var score = ClusterScore(cluster, memoryWeight: options.memoryWeight, cpuWeight: options.cpuWeight)
        let before = score.value
        var onHost = Array(repeating: [Int](), count: cluster.hosts.count)
        var movable = cluster.vms.map { vm in
            vm.pinnedReason == nil && (vm.lastMovedAt.map { now.timeIntervalSince($0) >= options.coolDownSeconds } ?? true)
        }
        for v in cluster.vms.indices { if let h = cluster.location[v] { onHost[h].append(v) } }
        var moves: [BalancePlan.Move] = []

        while moves.count < options.maxMoves {
            let current = score.value
            let (sources, targets) = candidates(score, limit: max(options.candidateHosts, 1))
            var best: (v: Int, from: Int, to: Int, ratio: Double)?
            for from in sources {
                for v in onHost[from] where movable[v] {
                    let vm = cluster.vms[v]
                    for to in targets where to != from {
                        let after = score.value(moving: shift(vm, from, to, cluster).memory, shift(vm, from, to, cluster).cpu, from: from, to: to)
                        let gain = current - after
                        guard gain > 1e-12, gain >= options.minGain else { continue }
                        let ratio = gain / Double(vm.footprintBytes)
                        guard best == nil || ratio > best!.ratio else { continue }
                        if cluster.accepts(v, on: to) { best = (v, from, to, ratio) }
                    }
                }
            }
            guard let move = best else { break }
            let vm = cluster.vms[move.v]
            let s = shift(vm, move.from, move.to, cluster)
            var next = score
            next.apply(moving: s.memory, s.cpu, from: move.from, to: move.to)
            // Recomputed from scratch: take the step only if it really lowers the score.
            guard next.value < current else { break }
            score = next
            cluster.move(move.v, to: move.to)
            onHost[move.from].removeAll { $0 == move.v }
            onHost[move.to].append(move.v)
            onHost[move.to].sort()
            movable[move.v] = false
            moves.append(.init(vm: vm.name, source: cluster.hosts[move.from].name, target: cluster.hosts[move.to].name,
                               bytes: vm.memoryBytes, scoreAfter: score.value, gain: current - score.value))
        }
        return BalancePlan(scoreBefore: before, scoreAfter: score.value, moves: moves)
    }

    /// The fractions of each host's memory and CPUs the VM takes.
    private static func shift(_ vm: ClusterSnapshot.VM, _ from: Int, _ to: Int, _ cluster: PlanningCluster)
        -> (memory: (from: Double, to: Double), cpu: (from: Double, to: Double)) {
        let (a, b) = (cluster.hosts[from], cluster.hosts[to])
        let bytes = Double(vm.footprintBytes), demand = vm.cpuLoad * Double(vm.vcpus)
        return ((bytes / Double(a.memoryTotalBytes), bytes / Double(b.memoryTotalBytes)),
                (demand / Double(a.cpuCount), demand / Double(b.cpuCount)))
    }

    /// The most loaded counted hosts (sources) and the least loaded (targets).
    private static func candidates(_ score: ClusterScore, limit: Int) -> (sources: [Int], targets: [Int]) {
        if score.counted.count <= 2 * limit { return (score.counted, score.counted) }
        let (mm, cm) = (score.memoryMean, score.cpuMean)
        let load = { (h: Int) in score.memoryWeight * (score.memory[h] - mm) + score.cpuWeight * (score.cpu[h] - cm) }
        let ranked = score.counted.map { ($0, load($0)) }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.map(\.0)
        return (Array(ranked.prefix(limit)), Array(ranked.suffix(limit)))
    }
}
