/// Which of a plan's migrations may start now, as others finish: the same
/// rule `MigrationScheduler` simulates (in schedule order, each as soon as
/// its source, its target and the cluster have a free slot), applied to
/// migrations that take as long as they really take. Pure; the runner
/// calls it whenever a migration ends.
struct MigrationQueue: Sendable {
    struct Job: Sendable, Equatable, Hashable {
        var vm: String
        var source: String
        var target: String
    }

    let limits: MigrationLimits
    /// Not started yet, in schedule order.
    private(set) var pending: [Job]
    private(set) var running: [Job] = []

    /// The schedule's slots in start order (longest first where the limits
    /// let them start together).
    init(_ schedule: MigrationSchedule, limits: MigrationLimits) {
        self.limits = limits
        pending = schedule.slots.map { Job(vm: $0.vm, source: $0.source, target: $0.target) }
    }

    init(jobs: [Job], limits: MigrationLimits) {
        self.limits = limits
        pending = jobs
    }

    var isDone: Bool { pending.isEmpty && running.isEmpty }

    /// Takes every pending job that may start now, in order, and counts it running.
    mutating func startable() -> [Job] {
        var started: [Job] = []
        var waiting: [Job] = []
        for job in pending {
            if running.count < max(limits.clusterWide, 1),
               running.count(where: { $0.source == job.source }) < max(limits.perSourceOutbound, 1),
               running.count(where: { $0.target == job.target }) < max(limits.perTargetInbound, 1) {
                running.append(job)
                started.append(job)
            } else {
                waiting.append(job)
            }
        }
        pending = waiting
        return started
    }

    /// A running job ended (whatever its outcome): its slots are free again.
    mutating func finished(_ job: Job) {
        if let index = running.firstIndex(of: job) { running.remove(at: index) }
    }

    /// Drops every job not started yet (on abort) and returns them.
    mutating func dropPending() -> [Job] {
        defer { pending = [] }
        return pending
    }
}

extension MigrationLimits {
    /// The limits of an evacuation run `parallel` migrations at a time:
    /// at most that many at once, from the host being emptied, and no more
    /// than that arriving at any one host.
    func evacuating(parallel: Int) -> MigrationLimits {
        var limits = self
        limits.clusterWide = parallel
        limits.perSourceOutbound = parallel
        limits.perTargetInbound = min(limits.perTargetInbound, parallel)
        return limits
    }
}
