import Foundation

/// Where every VM on the hosts being emptied goes, and in what order.
struct EvacuationPlan: Codable, Sendable, Equatable {
    struct Placed: Codable, Sendable, Equatable {
        var vm: String
        var source: String
        var target: String
    }

    struct Unplaced: Codable, Sendable, Equatable {
        var vm: String
        var source: String
        /// Every host, with why it cannot take the VM (as placement says it).
        /// Empty when the VM cannot be moved at all (`reason`).
        var rejections: [Placement.Rejection]
        /// Why it is not moved anywhere, when that is not about the hosts
        /// (a stopped VM, one already being migrated).
        var reason: String?
    }

    /// Sorted by VM name.
    var placements: [Placed]
    var unplaced: [Unplaced]
    /// "greedy", or "search" when greedy left a VM out and the exact search
    /// found a placement for all; "greedy (search gave up)" when the search
    /// ran out of budget first.
    var method: String
    var schedule: MigrationSchedule
}

/// Plans the evacuation of one or more hosts. Pure and deterministic.
///
/// Assignment is greedy, biggest VM first (footprint, then dirty rate, then
/// name): each goes to the feasible host left with the largest share of its
/// memory free (`Placement.score`), so the cluster stays even. Greedy packing
/// can miss when memory is tight (two mid-size VMs would fit where greedy put
/// one big one); then an exact depth-first search over every VM being moved
/// runs, bounded by `searchBudget` host checks, and its answer is used when
/// it places them all. Within the budget, a plan leaves a VM out only when no
/// placement of all of them exists.
enum EvacuationPlanner {
    static let defaultSearchBudget = 2_000_000

    static func plan(
        _ snapshot: ClusterSnapshot, evacuating: Set<String>, limits: MigrationLimits = MigrationLimits(),
        searchBudget: Int = defaultSearchBudget
    ) -> EvacuationPlan {
        var cluster = PlanningCluster(snapshot)
        let sources = Set(evacuating.compactMap { cluster.hostIndex[$0] })
        let targets = cluster.hosts.indices.filter { !sources.contains($0) }
        let leaving = cluster.vms.indices.filter { cluster.location[$0].map(sources.contains) ?? false }
        let pinned = leaving.filter { cluster.vms[$0].pinnedReason != nil }
        let movers = leaving
            .filter { cluster.vms[$0].pinnedReason == nil }
            .sorted { a, b in
                let (x, y) = (cluster.vms[a], cluster.vms[b])
                if x.footprintBytes != y.footprintBytes { return x.footprintBytes > y.footprintBytes }
                if x.dirtyRateBytesPerSecond != y.dirtyRateBytesPerSecond { return x.dirtyRateBytesPerSecond > y.dirtyRateBytesPerSecond }
                return x.name < y.name
            }
        let origin = Dictionary(uniqueKeysWithValues: movers.map { ($0, cluster.location[$0]!) })
        // The VMs leave their hosts first: nothing targets those hosts, and
        // their anti-affinity groups no longer count there.
        for v in movers { cluster.move(v, to: nil) }

        var assignment = greedy(movers, sources: sources, cluster: &cluster)
        var method = "greedy"
        if assignment.unplaced.isEmpty == false {
            var searchCluster = PlanningCluster(snapshot)
            for v in movers { searchCluster.move(v, to: nil) }
            var search = ExactPlacementSearch(cluster: searchCluster, movers: movers, targets: targets, budget: searchBudget)
            if let found = search.run() {
                assignment = (found, [])
                method = "search"
            } else {
                method = search.exhausted ? "greedy" : "greedy (search gave up)"
            }
        }
        let placed = assignment.placed.map { v, h in
            EvacuationPlan.Placed(vm: cluster.vms[v].name, source: cluster.hosts[origin[v]!].name, target: cluster.hosts[h].name)
        }.sorted { $0.vm < $1.vm }
        let unplaced = (assignment.unplaced.map { v, rejections in
            EvacuationPlan.Unplaced(vm: cluster.vms[v].name, source: cluster.hosts[origin[v]!].name, rejections: rejections)
        } + pinned.map { v in
            EvacuationPlan.Unplaced(vm: cluster.vms[v].name, source: cluster.hosts[cluster.location[v]!].name, rejections: [], reason: cluster.vms[v].pinnedReason)
        }).sorted { $0.vm < $1.vm }
        let vmsByName = Dictionary(uniqueKeysWithValues: movers.map { (cluster.vms[$0].name, cluster.vms[$0]) })
        let schedule = MigrationScheduler.schedule(
            placed.map { MigrationScheduler.Job(vm: vmsByName[$0.vm]!, source: $0.source, target: $0.target) }, limits: limits)
        return EvacuationPlan(placements: placed, unplaced: unplaced, method: method, schedule: schedule)
    }

    private static func greedy(
        _ movers: [Int], sources: Set<Int>, cluster: inout PlanningCluster
    ) -> (placed: [(Int, Int)], unplaced: [(Int, [Placement.Rejection])]) {
        var placed: [(Int, Int)] = []
        var unplaced: [(Int, [Placement.Rejection])] = []
        for v in movers {
            var best: (host: Int, score: Double)?
            // Reasons are built only when nothing fits.
            for h in cluster.hosts.indices where !sources.contains(h) && cluster.accepts(v, on: h) {
                let score = Placement.score(cluster.specs[v], on: cluster.placementHosts[h])
                // Hosts are in name order, so a strict > keeps the first name on ties.
                if best == nil || score > best!.score { best = (h, score) }
            }
            if let best {
                cluster.move(v, to: best.host)
                placed.append((v, best.host))
            } else {
                let rejections = cluster.hosts.indices.map { h in
                    Placement.Rejection(host: cluster.hosts[h].name, reason: sources.contains(h) ? "being evacuated" : cluster.rejection(v, on: h) ?? "")
                }
                unplaced.append((v, rejections))
            }
        }
        return (placed, unplaced)
    }
}
