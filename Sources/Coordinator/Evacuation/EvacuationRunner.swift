import Foundation
import Shared

/// What an evacuation or a balancing round tells its caller while it runs.
enum MoveEvent: Sendable {
    case started(MigrationQueue.Job)
    case migration(vm: String, MigrationEvent)
    case finished(MoveResult)
}

/// Runs a plan's migrations, several at once within the limits, each through
/// the migration executor (pre-checks, journal, verification, rollback). A
/// migration that is refused or fails leaves its VM where it was and the
/// others go on. Once `abort` is raised no new migration starts, and the
/// running ones roll back if they have not handed over yet.
struct EvacuationRunner: Sendable {
    let config: CoordConfig
    let journal: MigrationJournal
    let abort: AbortSignal
    /// Mode, downtime, bandwidth and verification for every migration; its
    /// `vm` and `target` are replaced per migration.
    let request: MigrationRequest
    let limits: MigrationLimits
    let emit: @Sendable (MoveEvent) -> Void

    func run(_ plan: EvacuationPlan) async -> [MoveResult] {
        await run(MigrationQueue(plan.schedule, limits: limits))
    }

    func run(_ start: MigrationQueue) async -> [MoveResult] {
        var queue = start
        var entries: [MoveResult] = []
        await withTaskGroup(of: (MigrationQueue.Job, MoveResult).self) { group in
            while true {
                if abort.raised {
                    for job in queue.dropPending() {
                        let entry = MoveResult(
                            vm: job.vm, source: job.source, target: job.target, outcome: .notStarted,
                            reason: "aborted before it started")
                        entries.append(entry)
                        emit(.finished(entry))
                    }
                }
                for job in queue.startable() {
                    emit(.started(job))
                    group.addTask { (job, await migrate(job)) }
                }
                guard let (job, entry) = await group.next() else { break }
                queue.finished(job)
                entries.append(entry)
                emit(.finished(entry))
            }
        }
        return entries
    }

    func migrate(_ job: MigrationQueue.Job) async -> MoveResult {
        let emit = self.emit
        return await MoveResult.migrate(
            job, executor: MigrationExecutor(config: config, journal: journal, abort: abort, emit: { emit(.migration(vm: job.vm, $0)) }),
            request: request)
    }
}
