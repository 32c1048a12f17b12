/// How uneven the cluster is; balancing lowers it. Lower is better, 0 is
/// perfectly even:
///
///     score = memoryWeight × σ(memory used fraction) + cpuWeight × σ(CPU busy fraction)
///
/// σ is the population standard deviation over the hosts that count: not in
/// maintenance, with memory and CPUs. Memory used counts guest RAM plus QEMU
/// overhead (what hosts report as no longer available); CPU busy is the
/// host's utilisation, moved by cpuLoad × vcpus of each VM that moves.
/// Kept as running sums so a candidate move is scored in O(1).
struct ClusterScore {
    let memoryWeight: Double
    let cpuWeight: Double
    /// Hosts that count, by index in the planning cluster.
    let counted: [Int]
    private(set) var memory: [Double]
    private(set) var cpu: [Double]
    private var sums = Sums()

    private struct Sums {
        var memory = 0.0, memorySquares = 0.0, cpu = 0.0, cpuSquares = 0.0
    }

    init(_ cluster: PlanningCluster, memoryWeight: Double = 1, cpuWeight: Double = 1) {
        self.memoryWeight = memoryWeight
        self.cpuWeight = cpuWeight
        counted = cluster.hosts.indices.filter { h in
            let host = cluster.hosts[h]
            return !host.maintenance && host.memoryTotalBytes > 0 && host.cpuCount > 0
        }
        memory = Array(repeating: 0, count: cluster.hosts.count)
        cpu = Array(repeating: 0, count: cluster.hosts.count)
        for h in counted {
            memory[h] = 1 - Double(cluster.freeBytes(h)) / Double(cluster.hosts[h].memoryTotalBytes)
            cpu[h] = cluster.cpuBusy[h] / Double(cluster.hosts[h].cpuCount)
        }
        resum()
    }

    var value: Double { score(sums) }

    var memoryMean: Double { counted.isEmpty ? 0 : sums.memory / Double(counted.count) }
    var cpuMean: Double { counted.isEmpty ? 0 : sums.cpu / Double(counted.count) }

    /// The score were `memoryShift`/`cpuShift` (fractions) to leave host `from` for host `to`.
    func value(moving memoryShift: (from: Double, to: Double), _ cpuShift: (from: Double, to: Double), from: Int, to: Int) -> Double {
        var s = sums
        let (m0, m1, c0, c1) = (memory[from], memory[to], cpu[from], cpu[to])
        let (m0n, m1n) = (m0 - memoryShift.from, m1 + memoryShift.to)
        let (c0n, c1n) = (c0 - cpuShift.from, c1 + cpuShift.to)
        s.memory += m0n - m0 + m1n - m1
        s.memorySquares += m0n * m0n - m0 * m0 + m1n * m1n - m1 * m1
        s.cpu += c0n - c0 + c1n - c1
        s.cpuSquares += c0n * c0n - c0 * c0 + c1n * c1n - c1 * c1
        return score(s)
    }

    mutating func apply(moving memoryShift: (from: Double, to: Double), _ cpuShift: (from: Double, to: Double), from: Int, to: Int) {
        memory[from] -= memoryShift.from
        memory[to] += memoryShift.to
        cpu[from] -= cpuShift.from
        cpu[to] += cpuShift.to
        resum()
    }

    /// Recomputed from the per-host values, so rounding never accumulates.
    private mutating func resum() {
        sums = Sums()
        for h in counted {
            sums.memory += memory[h]
            sums.memorySquares += memory[h] * memory[h]
            sums.cpu += cpu[h]
            sums.cpuSquares += cpu[h] * cpu[h]
        }
    }

    private func score(_ s: Sums) -> Double {
        guard !counted.isEmpty else { return 0 }
        let n = Double(counted.count)
        func deviation(_ sum: Double, _ squares: Double) -> Double { (max(0, squares / n - (sum / n) * (sum / n))).squareRoot() }
        return memoryWeight * deviation(s.memory, s.memorySquares) + cpuWeight * deviation(s.cpu, s.cpuSquares)
    }
}
