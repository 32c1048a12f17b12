import Foundation
import Shared
import Synchronization

/// The steps of one planned migration, with its rollback. `execute` never
/// leaves the VM running twice: until the source has stopped for good the
/// target stays paused, and until the guest is verified on the target the
/// source QEMU is kept, so it can be resumed.
struct MigrationRun: Sendable {
    let record: MigrationRecord
    let plan: MigrationPlan
    let details: VMDetails
    let links: MigrationLinks
    let journal: MigrationJournal
    let abort: AbortSignal
    let emit: @Sendable (MigrationEvent) -> Void
    let request: MigrationRequest

    static let noProgressLimit: Duration = .seconds(15)

    var id: String { record.id }
    var vm: String { record.vm }
    var ref: MigrationRef { MigrationRef(name: vm, migrationID: id) }
    var source: AgentClient { links.source.client }
    var target: AgentClient { links.target.client }

    /// How far it got, for the rollback.
    private final class Reached: Sendable {
        let state = Mutex((sourceCompleted: false, postcopy: false, targetResumed: false))
        /// The target's answer to resume (in post-copy it comes mid-stream).
        let resumed = Mutex<MigrationResumeResult?>(nil)
        /// Disk images this migration made on the target (committed or partial).
        let copies = Mutex<[String]>([])
    }

    func execute() async throws -> MigrationReport {
        let reached = Reached()
        let started = ContinuousClock.now
        var figures = record.figures
        do {
            // Local disks first: the guest is paused, its images copied.
            for location in plan.copyDisks {
                if location == plan.copyDisks.first {
                    try await journal.step(id, .pausedForCopy, detail: "stop the guest on \(record.source)")
                    emit(.phase("pausing the guest to copy its local disks"))
                    _ = try await source.call(
                        AgentMethods.MigrationPause.self, MigrationPauseParams(migrationID: id, name: vm, targetHost: record.target), timeout: 60)
                }
                try await journal.step(id, .copyingDisks, detail: "\(location) to \(record.target)")
                reached.copies.withLock { $0.append(location) }
                let emit = self.emit
                let digest = try await DiskCopier(source: source, target: target).copy(location) { done, total in
                    emit(.note(String(format: "copying %@: %d of %d MiB", location, Int(done >> 20), Int(total >> 20))))
                }
                emit(.note("copied \(location): \(ByteFormat.string(digest.sizeBytes)), sha256 \(digest.sha256.prefix(16))… matches"))
            }

            // Prepare: the target listens, paused.
            try await journal.step(id, .targetPrepared, detail: "starting QEMU -incoming defer on \(record.target)")
            emit(.phase("preparing \(record.target)"))
            let prepared = try await target.call(
                AgentMethods.MigrationPrepare.self,
                MigrationPrepareParams(
                    migrationID: id, spec: details.spec, createdDisks: details.createdDisks ?? [], copiedDisks: plan.copyDisks, sourceHost: record.source,
                    listenAddress: links.targetConfig.migrationAddress, tuning: plan.target),
                timeout: 90)

            // Perform: the source streams.
            try await journal.step(id, .streaming, detail: "to \(prepared.uri)")
            emit(.phase(plan.kind == .cold ? "pausing the guest and copying its state" : plan.kind == .postcopy ? "switching to post-copy at once" : "streaming memory"))
            if plan.kind == .postcopy { reached.state.withLock { $0.postcopy = true } }
            _ = try await source.call(
                AgentMethods.MigrationStart.self,
                MigrationStartParams(
                    migrationID: id, name: vm, uri: prepared.uri, targetHost: record.target, tuning: plan.source,
                    pauseFirst: plan.kind == .cold, startPostcopy: plan.kind == .postcopy),
                timeout: 30)
            try await journal.step(id, .switchover, detail: "authorised: the source continues from pre-switchover on its own")
            let final = try await stream(started: started, reached: reached)
            figures.setupMs = final.setupTimeMs.map(Double.init)
            figures.downtimeMsQEMU = final.downtimeMs.map(Double.init)
            figures.bytes = final.transferredBytes
            figures.iterations = final.iterations
            try await journal.step(id, .sourceCompleted, detail: "QEMU status \(final.status), run state \(final.runState ?? "?")")
            reached.state.withLock { $0.sourceCompleted = true }

            // Finish: the target resumes at once (every millisecond here is
            // the guest's downtime), then the guest must prove it lives.
            if !reached.state.withLock({ $0.targetResumed }) {
                try await journal.step(id, .targetResumed, detail: "cont on \(record.target)")
                _ = try await resumeTarget(reached: reached)
            }
            let resumed = reached.resumed.withLock { $0 }
            let sourceView = try await source.call(AgentMethods.VMShow.self, VMRef(name: vm), timeout: 15)
            if let lastLine = sourceView.consoleModifiedAtEpoch, let first = resumed?.firstHeartbeatAtEpoch {
                figures.downtimeMsGuest = max(0, (first - lastLine) * 1000)
            }
            emit(.phase("verifying the guest on \(record.target)"))
            let verifyStart = ContinuousClock.now
            let verdict = try await GuestVerification.verify(
                vm: vm, on: target, sourceLast: details.guest.heartbeats > 0 ? sourceView.guest.lastHeartbeat : nil, timeout: request.verifyTimeout)
            figures.verifyMs = (ContinuousClock.now - verifyStart).milliseconds
            try await journal.update(id, figures: figures)
            guard verdict.alive else { throw MigrationError.failed("the guest did not survive on \(record.target): \(verdict.detail)") }
            try await journal.step(id, .verified, detail: verdict.detail)

            // Confirm: only now does the source QEMU end.
            try await journal.step(id, .sourceReleased, detail: "quit QEMU on \(record.source)")
            _ = try await source.call(
                AgentMethods.MigrationRelease.self, MigrationReleaseParams(name: vm, migrationID: id, removeDisks: plan.copyDisks), timeout: 60)
            try await journal.step(id, .done, detail: "committed on \(record.target)")
            _ = try await target.call(AgentMethods.MigrationCommit.self, ref, timeout: 30)
            // From the first step to the commit: what the operator waits for.
            figures.totalMs = (ContinuousClock.now - started).milliseconds
            try await journal.update(id, figures: figures)
            try await journal.finish(id, outcome: .succeeded, error: nil)
            return report(.succeeded, error: nil, verification: verdict.detail, figures: figures, runsOn: record.target)
        } catch {
            let reason = describe(error)
            if journal.isLeaderTerm && (Task.isCancelled || LeadershipLoss.isLoss(error)) {
                return report(
                    .failed, error: "this coordinator lost the lead mid-migration (\(reason)): it stops here, and the next leader settles the migration",
                    verification: nil, figures: figures, runsOn: nil)
            }
            try? await journal.update(id, figures: figures)
            // The rollback must run even when Ctrl-C cancelled the task.
            let outcome = await Task { await rollBack(reason: reason, reached: reached) }.value
            return report(outcome.outcome, error: reason + (outcome.note.isEmpty ? "" : "; " + outcome.note), verification: nil, figures: figures, runsOn: outcome.runsOn)
        }
    }

    /// Polls the source until it has stopped for good (completed), switching
    /// to post-copy when the plan says so, giving up on stall or timeout.
    private func stream(started: ContinuousClock.Instant, reached: Reached) async throws -> MigrationProgress {
        var stall = StallDetector()
        var postcopyAsked = false
        let deadline = started + .seconds(plan.timeoutSeconds)
        var lastMoved = (bytes: UInt64(0), at: ContinuousClock.now)
        while true {
            if abort.raised { throw MigrationError.failed("aborted by the operator (Ctrl-C)") }
            let progress = try await source.call(
                AgentMethods.MigrationStatus.self,
                MigrationStatusParams(name: vm, migrationID: id, waitMs: 250, continueAtSwitchover: true), timeout: 30)
            emit(.progress(progress, elapsed: ContinuousClock.now - started))
            switch progress.status {
            case "completed":
                return progress
            case "failed", "cancelled", "none":
                throw MigrationError.failed("QEMU reports the migration \(progress.status)" + (progress.error.map { ": \($0)" } ?? ""))
            case "postcopy-active":
                if !reached.state.withLock({ $0.targetResumed }) {
                    try await journal.step(id, .targetResumed, detail: "post-copy: cont on \(record.target)")
                    _ = try await resumeTarget(reached: reached)
                }
                continue
            default:
                break
            }
            if let iteration = progress.iterations, let remaining = progress.remainingBytes {
                stall.observe(iteration: iteration, remaining: remaining)
            }
            // A stream that moves nothing (a cut link) is given up on long
            // before TCP would notice.
            let sent = progress.transferredBytes ?? 0
            if sent != lastMoved.bytes || progress.status == "pre-switchover" {
                lastMoved = (sent, ContinuousClock.now)
            } else if ContinuousClock.now - lastMoved.at > MigrationRun.noProgressLimit {
                throw MigrationError.failed("no data moved for \(MigrationRun.noProgressLimit) (status \(progress.status)): the migration network to \(record.target) looks cut")
            }
            // Post-copy as a fallback when pre-copy stalls.
            let wantPostcopy = plan.postcopyOnStall && stall.stalled
            if wantPostcopy && !postcopyAsked && progress.status == "active" {
                postcopyAsked = true
                emit(.note(plan.kind == .postcopy ? "switching to post-copy" : "pre-copy stalled: switching to post-copy"))
                try await journal.step(id, .switchover, detail: "migrate-start-postcopy")
                reached.state.withLock { $0.postcopy = true }
                _ = try await source.call(AgentMethods.MigrationStartPostcopy.self, ref, timeout: 30)
            }
            if ContinuousClock.now > deadline && !reached.state.withLock({ $0.postcopy }) {
                throw MigrationError.failed("not done after \(Int(plan.timeoutSeconds)) s (\(MigrationPolicy.secondsPerGiB) s per GiB of RAM)"
                    + (stall.stalled ? "; pre-copy stalled: the guest dirties memory faster than it can be sent" : ""))
            }
        }
    }

    private func resumeTarget(reached: Reached) async throws -> MigrationResumeResult {
        let resumed = try await target.call(AgentMethods.MigrationResumeTarget.self, ref, timeout: 30)
        reached.state.withLock { $0.targetResumed = true }
        reached.resumed.withLock { $0 = resumed }
        return resumed
    }

    /// Puts things back so the VM runs on the source alone. Before the
    /// source completed, QEMU's own migration is cancelled; after it (a
    /// guest broken on the target), the target is destroyed first and the
    /// source, still holding the switchover state, resumes.
    private func rollBack(reason: String, reached: Reached) async -> (outcome: MigrationOutcome, note: String, runsOn: String?) {
        let state = reached.state.withLock { $0 }
        // Post-copy asked for is not post-copy begun: QEMU's word decides.
        let sourceStatus = state.postcopy
            ? (try? await source.call(AgentMethods.MigrationStatus.self, MigrationStatusParams(name: vm, migrationID: id), timeout: 30))?.status
            : nil
        if state.postcopy && (state.targetResumed || sourceStatus == nil || sourceStatus?.hasPrefix("postcopy") == true || sourceStatus == "completed") {
            try? await journal.step(id, .failed, detail: reason)
            try? await journal.finish(id, outcome: .failed, error: reason + " (after post-copy began: the guest's RAM is split between the hosts; run coord recover)")
            return (.failed, "post-copy had begun, so it cannot be rolled back", nil)
        }
        emit(.phase("rolling back: \(vm) stays on \(record.source)"))
        try? await journal.step(id, .rollingBack, detail: reason)
        // The guest must never run twice: once the source has completed, the
        // target (which may be running) goes first; before that the target
        // is paused, and resuming the source first shortens the guest's pause.
        let targetFirst = state.sourceCompleted
        let back: VMInfo
        do {
            if targetFirst {
                _ = try await target.call(AgentMethods.MigrationAbortIncoming.self, ref, timeout: 60)
                try await removeCopies(reached)
            }
            back = try await source.call(AgentMethods.MigrationRollback.self, ref, timeout: 60)
        } catch {
            return (.failed, "rollback incomplete (\(describe(error))); run coord recover", nil)
        }
        // Never report a guest running that is not: the source QEMU itself died.
        let sourceAlive = back.pid != nil
        let sourceNote = sourceAlive ? "" : "the source QEMU on \(record.source) is gone too (\(back.state.rawValue)): the VM runs nowhere; start it with coord vm start \(vm)"
        if !targetFirst {
            do {
                _ = try await target.call(AgentMethods.MigrationAbortIncoming.self, ref, timeout: 60)
                try await removeCopies(reached)
            } catch {
                // The guest runs on the source; the target's paused QEMU waits for coord recover.
                guard sourceAlive else { return (.failed, sourceNote, nil) }
                return (.rolledBack, "the guest runs on \(record.source), but \(record.target) did not answer (\(describe(error))): its paused incoming QEMU is removed by coord recover", record.source)
            }
        }
        guard sourceAlive else {
            try? await journal.step(id, .failed, detail: sourceNote)
            try? await journal.finish(id, outcome: .failed, error: reason + "; " + sourceNote)
            return (.failed, sourceNote, nil)
        }
        try? await journal.step(id, .rolledBack, detail: "target QEMU destroyed; the guest runs on \(record.source)")
        try? await journal.finish(id, outcome: .rolledBack, error: reason)
        return (.rolledBack, "", record.source)
    }

    /// Removes the disk images this migration copied to the target (the
    /// agent refuses if a VM there uses one).
    private func removeCopies(_ reached: Reached) async throws {
        for location in reached.copies.withLock({ $0 }) {
            _ = try await target.call(AgentMethods.DiskDiscardPartial.self, DiskRef(location: location), timeout: 30)
            _ = try await target.call(AgentMethods.MigrationRemoveCopy.self, DiskRef(location: location), timeout: 30)
        }
    }

    private func report(_ outcome: MigrationOutcome, error: String?, verification: String?, figures: MigrationFigures, runsOn: String?) -> MigrationReport {
        MigrationReport(
            id: id, vm: vm, source: record.source, target: record.target, mode: plan.kind.rawValue, reason: plan.reason,
            outcome: outcome, error: error, verification: verification, figures: figures, runsOn: runsOn)
    }

    private func describe(_ error: any Error) -> String {
        if let agent = error as? AgentError { return agent.message }
        return "\(error)"
    }
}

extension Duration {
    var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
