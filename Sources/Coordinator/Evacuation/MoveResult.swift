import Foundation

/// How one planned migration of an evacuation or a balancing round ended,
/// as the reports list it.
struct MoveResult: Codable, Sendable {
    enum Outcome: String, Codable, Sendable {
        /// Migrated and verified alive on the target.
        case moved
        /// The migration failed and was undone: the VM runs on the source.
        case rolledBack
        /// The migration failed and could not be undone cleanly (coord recover).
        case failed
        /// The executor's pre-checks refused it; nothing was touched.
        case refused
        /// The plan found no host for it (or it cannot be moved at all).
        case notPlaced
        /// Not started: aborted first, or (balancing) an earlier move failed.
        case notStarted
    }

    var vm: String
    var source: String
    /// The planned target; nil when none was found.
    var target: String?
    var outcome: Outcome
    /// Why it did not move (the refusal, the error, or each host's reason).
    var reason: String?
    /// The executor's report, for VMs whose migration ran.
    var migration: MigrationReport?
}

extension MoveResult {
    /// Runs one planned migration through the executor and says how it
    /// ended, whatever happens: refusals and errors become results too.
    static func migrate(_ job: MigrationQueue.Job, executor: MigrationExecutor, request template: MigrationRequest) async -> MoveResult {
        var request = template
        request.vm = job.vm
        request.target = job.target
        var result = MoveResult(vm: job.vm, source: job.source, target: job.target, outcome: .refused)
        do {
            let report = try await executor.run(request)
            result.migration = report
            switch report.outcome {
            case .succeeded: result.outcome = .moved
            case .rolledBack: result.outcome = .rolledBack
            case .failed: result.outcome = .failed
            }
            result.reason = report.error
        } catch MigrationError.refused(let reason) {
            result.reason = reason.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "\n  ", with: "; ")
        } catch {
            // Everything the executor throws comes before its journal entry:
            // nothing was touched, as with a refusal.
            result.reason = "\(error)"
        }
        return result
    }
}
