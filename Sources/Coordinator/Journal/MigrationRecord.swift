import Foundation

/// One step of a migration's state machine. The executor journals a step
/// BEFORE taking it, so after a crash `lastStep` names the step that may have
/// been under way, never one that was skipped.
enum MigrationStep: String, Codable, Sendable, CaseIterable {
    case planned, checked, pausedForCopy, copyingDisks, targetPrepared, streaming, switchover, sourceCompleted,
        targetResumed, verified, sourceReleased, done,
        rollingBack, rolledBack, failed

    /// Steps before which no host has been touched: a migration that died
    /// here can be abandoned without asking any agent.
    var touchesNoHost: Bool { self == .planned || self == .checked }
}

/// How a migration ended.
enum MigrationOutcome: String, Codable, Sendable {
    case succeeded, rolledBack, failed
}

/// What a migration measured. Every field is optional: each is filled in when
/// it becomes known, and `MigrationJournal.update` merges them.
struct MigrationFigures: Codable, Sendable, Equatable {
    var setupMs: Double?
    /// QEMU's own downtime figure (query-migrate `downtime`).
    var downtimeMsQEMU: Double?
    /// The longest gap in the guest's heartbeat around switchover, as the guest saw it.
    var downtimeMsGuest: Double?
    var totalMs: Double?
    var bytes: UInt64?
    var iterations: Int?
    var dirtyRatePagesPerSecond: Double?
    var verifyMs: Double?

    init(
        setupMs: Double? = nil, downtimeMsQEMU: Double? = nil, downtimeMsGuest: Double? = nil,
        totalMs: Double? = nil, bytes: UInt64? = nil, iterations: Int? = nil,
        dirtyRatePagesPerSecond: Double? = nil, verifyMs: Double? = nil
    ) {
        self.setupMs = setupMs
        self.downtimeMsQEMU = downtimeMsQEMU
        self.downtimeMsGuest = downtimeMsGuest
        self.totalMs = totalMs
        self.bytes = bytes
        self.iterations = iterations
        self.dirtyRatePagesPerSecond = dirtyRatePagesPerSecond
        self.verifyMs = verifyMs
    }

    /// These figures with every non-nil field of `newer` written over them.
    func merged(with newer: MigrationFigures) -> MigrationFigures {
        MigrationFigures(
            setupMs: newer.setupMs ?? setupMs,
            downtimeMsQEMU: newer.downtimeMsQEMU ?? downtimeMsQEMU,
            downtimeMsGuest: newer.downtimeMsGuest ?? downtimeMsGuest,
            totalMs: newer.totalMs ?? totalMs,
            bytes: newer.bytes ?? bytes,
            iterations: newer.iterations ?? iterations,
            dirtyRatePagesPerSecond: newer.dirtyRatePagesPerSecond ?? dirtyRatePagesPerSecond,
            verifyMs: newer.verifyMs ?? verifyMs)
    }
}

/// One migration as the journal keeps it.
struct MigrationRecord: Codable, Sendable, Equatable {
    /// A UUID string.
    var id: String
    var vm: String
    var source: String
    var target: String
    /// "live", "postcopy", "cold" or "offline".
    var mode: String
    /// Why this mode was chosen (printed and journaled).
    var reason: String
    var startedAt: Date
    var finishedAt: Date?
    var lastStep: MigrationStep
    /// nil while the migration is unfinished.
    var outcome: MigrationOutcome?
    var error: String?
    var figures: MigrationFigures

    init(
        id: String = UUID().uuidString, vm: String, source: String, target: String, mode: String,
        reason: String, startedAt: Date = Date(), finishedAt: Date? = nil, lastStep: MigrationStep = .planned,
        outcome: MigrationOutcome? = nil, error: String? = nil, figures: MigrationFigures = MigrationFigures()
    ) {
        self.id = id
        self.vm = vm
        self.source = source
        self.target = target
        self.mode = mode
        self.reason = reason
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.lastStep = lastStep
        self.outcome = outcome
        self.error = error
        self.figures = figures
    }
}

/// One journaled step of one migration; `seq` counts from 1 per migration.
struct JournalStep: Codable, Sendable, Equatable {
    var migrationID: String
    var seq: Int
    var step: MigrationStep
    var detail: String
    var at: Date
}

/// A host an operator has put in maintenance: no migration may target it.
struct MaintenanceEntry: Codable, Sendable, Equatable {
    var since: Date
    var reason: String?
}
