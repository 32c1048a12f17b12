import Foundation
import Shared

/// What an evacuation tells its caller while it runs.
enum EvacuationEvent: Sendable {
    case started(MigrationQueue.Job)
    case migration(vm: String, MigrationEvent)
    case finished(EvacuationReport.Entry)
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
    let emit: @Sendable (EvacuationEvent) -> Void

    func run(_ plan: EvacuationPlan) async -> [EvacuationReport.Entry] {
        await run(MigrationQueue(plan.schedule, limits: limits))
    }

    func run(_ start: MigrationQueue) async -> [EvacuationReport.Entry] {
        var queue = start
        var entries: [EvacuationReport.Entry] = []
        await withTaskGroup(of: (MigrationQueue.Job, EvacuationReport.Entry).self) { group in
            while true {
                if abort.raised {
                    for job in queue.dropPending() {
                        let entry = EvacuationReport.Entry(
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

    /// One migration, whatever happens, as a report entry.
    func migrate(_ job: MigrationQueue.Job) async -> EvacuationReport.Entry {
        let emit = self.emit
        let executor = MigrationExecutor(config: config, journal: journal, abort: abort, emit: { emit(.migration(vm: job.vm, $0)) })
        var request = self.request
        request.vm = job.vm
        request.target = job.target
        var entry = EvacuationReport.Entry(vm: job.vm, source: job.source, target: job.target, outcome: .refused)
        do {
            let report = try await executor.run(request)
            entry.migration = report
            switch report.outcome {
            case .succeeded: entry.outcome = .moved
            case .rolledBack: entry.outcome = .rolledBack
            case .failed: entry.outcome = .failed
            }
            entry.reason = report.error
        } catch MigrationError.refused(let reason) {
            entry.reason = reason.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "\n  ", with: "; ")
        } catch {
            // Everything the executor throws comes before its journal entry:
            // nothing was touched, as with a refusal.
            entry.reason = "\(error)"
        }
        return entry
    }
}
