/// How many migrations may run at once, and over what network.
struct MigrationLimits: Codable, Sendable, Equatable {
    /// Migrations leaving one host at once.
    var perSourceOutbound = 2
    /// Migrations arriving at one host at once.
    var perTargetInbound = 2
    /// Migrations running anywhere at once.
    var clusterWide = 8
    /// The migration network's bandwidth, shared by every running migration.
    var bandwidthBytesPerSecond: Double = 1.25e9
}

/// When each migration of a plan starts and ends, estimated.
struct MigrationSchedule: Codable, Sendable, Equatable {
    struct Slot: Codable, Sendable, Equatable {
        var vm: String
        var source: String
        var target: String
        var memoryBytes: UInt64
        var startSeconds: Double
        var estimatedSeconds: Double
        /// Its dirty rate is at least half its bandwidth share: pre-copy alone
        /// may not converge (auto-converge or post-copy will be needed).
        var mayNotConverge: Bool
        var endSeconds: Double { startSeconds + estimatedSeconds }
    }

    /// In start order (then VM name).
    var slots: [Slot]
    /// When the last migration is expected to end.
    var makespanSeconds: Double
}

/// Orders migrations longest first (LPT list scheduling) and starts each as
/// soon as its source, its target and the cluster have a free slot. Longest
/// first keeps a big, hot VM from being left to run alone at the end.
///
/// Duration estimate: every migration gets an equal share of the link,
/// b = bandwidth / clusterWide (the share it has when the cluster is busy,
/// so the estimate is safe). Pre-copy resends what the guest dirties, so
/// sending M bytes at rate b while dirtying d takes M / (b - d); d is capped
/// at b/2 (beyond that QEMU has to throttle the guest, which we flag), so a
/// migration never takes more than 2M/b.
enum MigrationScheduler {
    struct Job {
        var vm: ClusterSnapshot.VM
        var source: String
        var target: String
    }

    static func estimatedSeconds(memoryBytes: UInt64, dirtyRate: Double, limits: MigrationLimits) -> (seconds: Double, mayNotConverge: Bool) {
        let share = max(limits.bandwidthBytesPerSecond, 1) / Double(max(limits.clusterWide, 1))
        let dirty = min(max(dirtyRate, 0), share / 2)
        return (Double(memoryBytes) / (share - dirty), dirtyRate >= share / 2)
    }

    static func schedule(_ jobs: [Job], limits: MigrationLimits) -> MigrationSchedule {
        let perSource = max(limits.perSourceOutbound, 1), perTarget = max(limits.perTargetInbound, 1)
        let clusterWide = max(limits.clusterWide, 1)
        var pending: [MigrationSchedule.Slot] = jobs.map { job in
            let estimate = estimatedSeconds(memoryBytes: job.vm.memoryBytes, dirtyRate: job.vm.dirtyRateBytesPerSecond, limits: limits)
            return .init(vm: job.vm.name, source: job.source, target: job.target, memoryBytes: job.vm.memoryBytes,
                         startSeconds: 0, estimatedSeconds: estimate.seconds, mayNotConverge: estimate.mayNotConverge)
        }.sorted { $0.estimatedSeconds != $1.estimatedSeconds ? $0.estimatedSeconds > $1.estimatedSeconds : $0.vm < $1.vm }
        var running: [MigrationSchedule.Slot] = []
        var done: [MigrationSchedule.Slot] = []
        var outbound: [String: Int] = [:], inbound: [String: Int] = [:]
        var now = 0.0
        while !pending.isEmpty {
            var waiting: [MigrationSchedule.Slot] = []
            for var slot in pending {
                if running.count < clusterWide, outbound[slot.source, default: 0] < perSource, inbound[slot.target, default: 0] < perTarget {
                    slot.startSeconds = now
                    running.append(slot)
                    outbound[slot.source, default: 0] += 1
                    inbound[slot.target, default: 0] += 1
                } else {
                    waiting.append(slot)
                }
            }
            pending = waiting
            guard let next = running.map(\.endSeconds).min() else { break }
            now = next
            for slot in running where slot.endSeconds <= now {
                outbound[slot.source, default: 0] -= 1
                inbound[slot.target, default: 0] -= 1
                done.append(slot)
            }
            running.removeAll { $0.endSeconds <= now }
        }
        let slots = (done + running).sorted { $0.startSeconds != $1.startSeconds ? $0.startSeconds < $1.startSeconds : $0.vm < $1.vm }
        return MigrationSchedule(slots: slots, makespanSeconds: slots.map(\.endSeconds).max() ?? 0)
    }
}
