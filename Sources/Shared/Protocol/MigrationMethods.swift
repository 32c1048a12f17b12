import Foundation

/// Agent calls that move a VM, in the order prepare, perform, finish,
/// confirm (DESIGN.md). The coordinator drives them; each agent only ever
/// acts on its own QEMU, and every call names the migration it belongs to so
/// a stale or confused caller cannot touch another migration's VM.
extension AgentMethods {
    /// Target: defines the VM as incoming, starts QEMU paused with
    /// `-incoming defer`, sets capabilities and parameters, and listens.
    public enum MigrationPrepare: AgentMethod {
        public static let name = "migration.prepare"
        public typealias Params = MigrationPrepareParams
        public typealias Result = MigrationPrepareResult
    }

    /// Source: sets capabilities and parameters and starts streaming to the
    /// target's URI. The source pauses before switchover and waits.
    public enum MigrationStart: AgentMethod {
        public static let name = "migration.start"
        public typealias Params = MigrationStartParams
        public typealias Result = MigrationProgress
    }

    /// Either side: QEMU's view of the migration. Can wait briefly for the
    /// next change (a long poll), and, when the coordinator has authorised
    /// it, continue at once from pre-switchover so the handover costs no
    /// round trip.
    public enum MigrationStatus: AgentMethod {
        public static let name = "migration.status"
        public typealias Params = MigrationStatusParams
        public typealias Result = MigrationProgress
    }

    /// Source: samples how fast the guest dirties memory (QMP calc-dirty-rate).
    public enum MigrationMeasureDirtyRate: AgentMethod {
        public static let name = "migration.measureDirtyRate"
        public typealias Params = DirtyRateParams
        public typealias Result = DirtyRateResult
    }

    /// Source, paused before switchover: send the rest and stop for good.
    public enum MigrationSwitchover: AgentMethod {
        public static let name = "migration.switchover"
        public typealias Params = MigrationRef
        public typealias Result = MigrationProgress
    }

    /// Source: switch a running pre-copy to post-copy.
    public enum MigrationStartPostcopy: AgentMethod {
        public static let name = "migration.postcopy"
        public typealias Params = MigrationRef
        public typealias Result = MigrationProgress
    }

    /// Source: undoes the migration here. Cancels it if it is still going,
    /// resumes the guest if it was running before, forgets the migration.
    /// Refused once post-copy has begun (the target holds part of the RAM).
    public enum MigrationRollback: AgentMethod {
        public static let name = "migration.rollback"
        public typealias Params = MigrationRef
        public typealias Result = VMInfo
    }

    /// Target: the stream has arrived; resume the guest and report when its
    /// first heartbeat appears on the console.
    public enum MigrationResumeTarget: AgentMethod {
        public static let name = "migration.resumeTarget"
        public typealias Params = MigrationRef
        public typealias Result = MigrationResumeResult
    }

    /// Target: the guest was verified alive; the VM is an ordinary VM here now.
    public enum MigrationCommit: AgentMethod {
        public static let name = "migration.commit"
        public typealias Params = MigrationRef
        public typealias Result = VMInfo
    }

    /// Target: ends the incoming QEMU and forgets the VM. Disks are never
    /// touched. Only for a VM this migration defined here.
    public enum MigrationAbortIncoming: AgentMethod {
        public static let name = "migration.abortIncoming"
        public typealias Params = MigrationRef
        public typealias Result = Empty
    }

    /// Source, after the target was verified: ends the source QEMU (which
    /// must not be running) and forgets the VM here. Disks are kept, except
    /// the local images that were copied to the target (`removeDisks`).
    public enum MigrationRelease: AgentMethod {
        public static let name = "migration.release"
        public typealias Params = MigrationReleaseParams
        public typealias Result = Empty
    }

    /// Source: holds the VM for this migration and stops its vCPUs, so its
    /// local disks can be copied while nothing writes to them.
    public enum MigrationPause: AgentMethod {
        public static let name = "migration.pause"
        public typealias Params = MigrationPauseParams
        public typealias Result = MigrationProgress
    }

    /// Target: removes a copied disk image that no VM here uses (a copy left
    /// by a migration that did not happen).
    public enum MigrationRemoveCopy: AgentMethod {
        public static let name = "migration.removeCopy"
        public typealias Params = DiskRef
        public typealias Result = Empty
    }
}

public struct MigrationReleaseParams: Codable, Sendable, Equatable {
    public var name: String
    public var migrationID: String
    public var removeDisks: [String]
    public init(name: String, migrationID: String, removeDisks: [String] = []) {
        self.name = name
        self.migrationID = migrationID
        self.removeDisks = removeDisks
    }
}

public struct MigrationPauseParams: Codable, Sendable, Equatable {
    public var migrationID: String
    public var name: String
    public var targetHost: String
    public init(migrationID: String, name: String, targetHost: String) {
        self.migrationID = migrationID
        self.name = name
        self.targetHost = targetHost
    }
}

public struct MigrationRef: Codable, Sendable, Equatable {
    public var name: String
    public var migrationID: String
    public init(name: String, migrationID: String) {
        self.name = name
        self.migrationID = migrationID
    }
}

public struct MigrationStatusParams: Codable, Sendable, Equatable {
    public var name: String
    public var migrationID: String
    /// Wait up to this long for the status to change (0: answer at once).
    public var waitMs: Int
    /// Source: if paused before switchover, continue at once.
    public var continueAtSwitchover: Bool
    public init(name: String, migrationID: String, waitMs: Int = 0, continueAtSwitchover: Bool = false) {
        self.name = name
        self.migrationID = migrationID
        self.waitMs = waitMs
        self.continueAtSwitchover = continueAtSwitchover
    }
}

public struct DirtyRateParams: Codable, Sendable, Equatable {
    public var name: String
    public var seconds: Int
    public init(name: String, seconds: Int) {
        self.name = name
        self.seconds = seconds
    }
}

public struct DirtyRateResult: Codable, Sendable, Equatable {
    /// MiB the guest dirties per second.
    public var mibPerSecond: Double
    public var seconds: Int
    public init(mibPerSecond: Double, seconds: Int) {
        self.mibPerSecond = mibPerSecond
        self.seconds = seconds
    }
}

/// QEMU capabilities and parameters for one side of a migration.
public struct MigrationTuning: Codable, Sendable, Equatable {
    public var capabilities: [QMP.MigrationCapabilityState]
    public var parameters: QMP.MigrationParameters
    public init(capabilities: [QMP.MigrationCapabilityState], parameters: QMP.MigrationParameters) {
        self.capabilities = capabilities
        self.parameters = parameters
    }
}

public struct MigrationPrepareParams: Codable, Sendable, Equatable {
    public var migrationID: String
    public var spec: VMSpec
    /// Disks the source agent created for the VM; the target takes over
    /// their ownership, so deleting the VM later removes them.
    public var createdDisks: [String]
    /// Local disk images copied to the target for this migration: removed
    /// again if it is aborted.
    public var copiedDisks: [String]
    public var sourceHost: String
    /// Where the target listens; the agent's `migrationAddress` if nil.
    public var listenAddress: String?
    public var tuning: MigrationTuning

    public init(
        migrationID: String, spec: VMSpec, createdDisks: [String], copiedDisks: [String] = [], sourceHost: String, listenAddress: String?,
        tuning: MigrationTuning
    ) {
        self.migrationID = migrationID
        self.spec = spec
        self.createdDisks = createdDisks
        self.copiedDisks = copiedDisks
        self.sourceHost = sourceHost
        self.listenAddress = listenAddress
        self.tuning = tuning
    }
}

public struct MigrationPrepareResult: Codable, Sendable, Equatable {
    /// What the source passes to QMP `migrate`, e.g. `tcp:198.51.100.12:40123`.
    public var uri: String
    public var pid: Int32
    public init(uri: String, pid: Int32) {
        self.uri = uri
        self.pid = pid
    }
}

public struct MigrationStartParams: Codable, Sendable, Equatable {
    public var migrationID: String
    public var name: String
    public var uri: String
    public var targetHost: String
    public var tuning: MigrationTuning
    /// Stop the guest's vCPUs first: a cold (stop-and-copy) migration.
    public var pauseFirst: Bool
    /// Ask for post-copy right after starting (QEMU switches at its next loop).
    public var startPostcopy: Bool
    public init(
        migrationID: String, name: String, uri: String, targetHost: String, tuning: MigrationTuning, pauseFirst: Bool, startPostcopy: Bool = false
    ) {
        self.migrationID = migrationID
        self.name = name
        self.uri = uri
        self.targetHost = targetHost
        self.tuning = tuning
        self.pauseFirst = pauseFirst
        self.startPostcopy = startPostcopy
    }
}

/// A migration as QEMU reports it, flattened for people and scripts.
public struct MigrationProgress: Codable, Sendable, Equatable {
    /// QEMU's migration status: setup, active, pre-switchover, device,
    /// postcopy-active, completed, failed, cancelled, none …
    public var status: String
    /// QEMU's run state: running, paused, finish-migrate, postmigrate, inmigrate …
    public var runState: String?
    public var transferredBytes: UInt64?
    public var remainingBytes: UInt64?
    public var totalBytes: UInt64?
    public var mbps: Double?
    public var dirtyPagesRate: UInt64?
    public var iterations: Int?
    public var expectedDowntimeMs: Int64?
    public var downtimeMs: Int64?
    public var setupTimeMs: Int64?
    public var totalTimeMs: Int64?
    public var cpuThrottlePercentage: Int?
    public var postcopyRequests: Int64?
    public var error: String?

    public init(status: String) { self.status = status }

    public init(_ info: QMP.MigrationInfo, runState: String?) {
        status = info.state.rawValue
        self.runState = runState
        transferredBytes = info.ram.map { UInt64(max(0, $0.transferred)) }
        remainingBytes = info.ram.map { UInt64(max(0, $0.remaining)) }
        totalBytes = info.ram.map { UInt64(max(0, $0.total)) }
        mbps = info.ram?.mbps
        dirtyPagesRate = info.ram?.dirtyPagesRate.map { UInt64(max(0, $0)) }
        iterations = info.ram?.dirtySyncCount.map { Int($0) }
        expectedDowntimeMs = info.expectedDowntime
        downtimeMs = info.downtime
        setupTimeMs = info.setupTime
        totalTimeMs = info.totalTime
        cpuThrottlePercentage = info.cpuThrottlePercentage
        postcopyRequests = info.ram?.postcopyRequests
        error = info.errorDesc
    }

    /// The migration ended, one way or the other.
    public var isFinal: Bool { ["completed", "failed", "cancelled"].contains(status) }
}

public struct MigrationResumeResult: Codable, Sendable, Equatable {
    public var vm: VMInfo
    /// When the target agent saw the guest's first heartbeat line appear on
    /// the console after `cont`: its wall clock, seconds since 1970 (a plain
    /// number: ISO 8601 dates on the wire drop the milliseconds); nil if none
    /// came in time.
    public var firstHeartbeatAtEpoch: Double?
    public var firstHeartbeat: UInt64?
    /// When `cont` was sent, seconds since 1970.
    public var resumedAtEpoch: Double
    public init(vm: VMInfo, firstHeartbeatAtEpoch: Double?, firstHeartbeat: UInt64?, resumedAtEpoch: Double) {
        self.vm = vm
        self.firstHeartbeatAtEpoch = firstHeartbeatAtEpoch
        self.firstHeartbeat = firstHeartbeat
        self.resumedAtEpoch = resumedAtEpoch
    }
}
