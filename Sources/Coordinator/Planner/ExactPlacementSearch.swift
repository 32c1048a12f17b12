/// Depth-first search for a placement of every VM being moved, used when
/// greedy packing leaves one out. Exact (it tries every combination, most
/// constrained VM first, roomiest host first) but bounded by a budget of
/// host checks so a large hopeless case cannot run long.
struct ExactPlacementSearch {
    private var cluster: PlanningCluster
    private let order: [Int]
    /// Per VM (by index in `order`): the hosts it could run on, memory aside.
    private let candidates: [[Int]]
    private var budget: Int
    private var chosen: [(Int, Int)] = []
    /// True when the search finished: no result then means none exists.
    private(set) var exhausted = false

    init(cluster: PlanningCluster, movers: [Int], targets: [Int], budget: Int) {
        self.cluster = cluster
        self.budget = budget
        let compatible = Dictionary(uniqueKeysWithValues: movers.map { v in (v, targets.filter { cluster.isCompatible(v, with: $0) }) })
        // Fewest choices first, then biggest: failures show up near the root.
        order = movers.sorted { a, b in
            let (ca, cb) = (compatible[a]!.count, compatible[b]!.count)
            if ca != cb { return ca < cb }
            let (fa, fb) = (cluster.vms[a].footprintBytes, cluster.vms[b].footprintBytes)
            return fa != fb ? fa > fb : cluster.vms[a].name < cluster.vms[b].name
        }
        candidates = order.map { compatible[$0]! }
    }

    /// Every mover with its host, or nil when none was found within budget.
    mutating func run() -> [(Int, Int)]? {
        let found = descend(0)
        if !found && budget > 0 { exhausted = true }
        return found ? chosen : nil
    }

    private mutating func descend(_ depth: Int) -> Bool {
        if depth == order.count { return true }
        let v = order[depth]
        budget -= candidates[depth].count
        if budget < 0 { return false }
        let open = candidates[depth].filter { cluster.fits(v, on: $0) }
            .sorted { cluster.freeBytes($0) != cluster.freeBytes($1) ? cluster.freeBytes($0) > cluster.freeBytes($1) : $0 < $1 }
        for h in open {
            cluster.move(v, to: h)
            chosen.append((v, h))
            if descend(depth + 1) { return true }
            chosen.removeLast()
            cluster.move(v, to: nil)
            if budget < 0 { return false }
        }
        return false
    }
}
