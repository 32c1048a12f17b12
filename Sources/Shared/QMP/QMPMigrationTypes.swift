/// Migration types from QEMU's qapi/migration.json (as of QEMU 7.2), with
/// QMP's kebab-case names mapped through CodingKeys.
extension QMP {
    /// A migration's state, on either side (`query-migrate`, MIGRATION events).
    public enum MigrationStatus: String, QMPLenientEnum, CaseIterable {
        case none, setup, cancelling, cancelled, active
        case postcopyActive = "postcopy-active"
        case postcopyPaused = "postcopy-paused"
        case postcopyRecover = "postcopy-recover"
        case completed, failed, colo
        /// Source waits for `migrate-continue` (capability pause-before-switchover).
        case preSwitchover = "pre-switchover"
        case device
        case waitUnplug = "wait-unplug"
        case unknown

        /// No further change will happen without a new `migrate`.
        public var isFinal: Bool { self == .completed || self == .failed || self == .cancelled }
    }

    public enum MigrationCapability: String, QMPLenientEnum, CaseIterable {
        case xbzrle
        case rdmaPinAll = "rdma-pin-all"
        case autoConverge = "auto-converge"
        case zeroBlocks = "zero-blocks"
        case compress
        /// Emit MIGRATION and MIGRATION_PASS events.
        case events
        case postcopyRAM = "postcopy-ram"
        case xColo = "x-colo"
        case releaseRAM = "release-ram"
        case block
        case returnPath = "return-path"
        case pauseBeforeSwitchover = "pause-before-switchover"
        case multifd
        case dirtyBitmaps = "dirty-bitmaps"
        case postcopyBlocktime = "postcopy-blocktime"
        case lateBlockActivate = "late-block-activate"
        case xIgnoreShared = "x-ignore-shared"
        case validateUUID = "validate-uuid"
        case backgroundSnapshot = "background-snapshot"
        case zeroCopySend = "zero-copy-send"
        case postcopyPreempt = "postcopy-preempt"
        case unknown
    }

    public struct MigrationCapabilityState: Codable, Sendable, Equatable {
        public var capability: MigrationCapability
        public var state: Bool

        public init(_ capability: MigrationCapability, _ state: Bool) {
            self.capability = capability
            self.state = state
        }
    }

    /// `query-migrate`. Every field is optional: QEMU leaves out what does
    /// not apply to the current state (no `status` at all before any migration).
    public struct MigrationInfo: Codable, Sendable, Equatable {
        public var status: MigrationStatus?
        public var ram: MigrationRAMStats?
        /// Milliseconds since the migration started (or its total, once completed).
        public var totalTime: Int64?
        /// Milliseconds the guest was stopped, once completed.
        public var downtime: Int64?
        public var expectedDowntime: Int64?
        public var setupTime: Int64?
        public var cpuThrottlePercentage: Int?
        public var errorDesc: String?
        public var blockedReasons: [String]?
        /// Target side: where `migrate-incoming` listens (with the real port
        /// when asked for port 0).
        public var socketAddress: [MigrationSocketAddress]?

        /// `status`, with "no migration yet" as `.none`.
        public var state: MigrationStatus { status ?? .none }

        enum CodingKeys: String, CodingKey {
            case status, ram, downtime
            case totalTime = "total-time"
            case expectedDowntime = "expected-downtime"
            case setupTime = "setup-time"
            case cpuThrottlePercentage = "cpu-throttle-percentage"
            case errorDesc = "error-desc"
            case blockedReasons = "blocked-reasons"
            case socketAddress = "socket-address"
        }
    }

    /// A listening address from `query-migrate` (QMP's SocketAddress).
    public struct MigrationSocketAddress: Codable, Sendable, Equatable {
        /// `inet`, `unix`, `vsock` or `fd`.
        public var type: String
        public var host: String?
        /// QMP reports ports as strings.
        public var port: String?
        public var path: String?
    }

    /// RAM progress of a migration. Sizes in bytes.
    public struct MigrationRAMStats: Codable, Sendable, Equatable {
        public var transferred: Int64
        public var remaining: Int64
        public var total: Int64
        public var duplicate: Int64?
        public var normal: Int64?
        public var normalBytes: Int64?
        /// Pages dirtied per second.
        public var dirtyPagesRate: Int64?
        /// Throughput in megabits per second.
        public var mbps: Double?
        /// Completed dirty-bitmap syncs (one per pre-copy iteration).
        public var dirtySyncCount: Int64?
        public var postcopyRequests: Int64?
        public var pageSize: Int64?
        public var multifdBytes: Int64?
        public var pagesPerSecond: Int64?
        public var precopyBytes: Int64?
        public var downtimeBytes: Int64?
        public var postcopyBytes: Int64?

        enum CodingKeys: String, CodingKey {
            case transferred, remaining, total, duplicate, normal, mbps
            case normalBytes = "normal-bytes"
            case dirtyPagesRate = "dirty-pages-rate"
            case dirtySyncCount = "dirty-sync-count"
            case postcopyRequests = "postcopy-requests"
            case pageSize = "page-size"
            case multifdBytes = "multifd-bytes"
            case pagesPerSecond = "pages-per-second"
            case precopyBytes = "precopy-bytes"
            case downtimeBytes = "downtime-bytes"
            case postcopyBytes = "postcopy-bytes"
        }
    }

    /// `migrate-set-parameters` and `query-migrate-parameters`. Set only what
    /// you mean to change: nil fields are left out and keep QEMU's value.
    public struct MigrationParameters: Codable, Sendable, Equatable {
        /// Maximum tolerated downtime, milliseconds.
        public var downtimeLimit: Int64?
        /// Pre-copy bandwidth cap, bytes per second.
        public var maxBandwidth: Int64?
        /// Post-copy bandwidth cap, bytes per second (0: unlimited).
        public var maxPostcopyBandwidth: Int64?
        public var multifdChannels: Int?
        public var multifdCompression: String?
        public var multifdZlibLevel: Int?
        public var multifdZstdLevel: Int?
        /// Bytes.
        public var xbzrleCacheSize: Int64?
        /// Auto-converge throttling, percent.
        public var cpuThrottleInitial: Int?
        public var cpuThrottleIncrement: Int?
        public var cpuThrottleTailslow: Bool?
        public var maxCPUThrottle: Int?
        public var throttleTriggerThreshold: Int?
        /// Self-announcement after switchover (gratuitous ARP), milliseconds / count.
        public var announceInitial: Int64?
        public var announceMax: Int64?
        public var announceRounds: Int64?
        public var announceStep: Int64?
        public var tlsCreds: String?
        public var tlsHostname: String?
        public var tlsAuthz: String?
        public var compressLevel: Int?
        public var compressThreads: Int?
        public var compressWaitThread: Bool?
        public var decompressThreads: Int?

        public init(
            downtimeLimit: Int64? = nil, maxBandwidth: Int64? = nil, maxPostcopyBandwidth: Int64? = nil,
            multifdChannels: Int? = nil, xbzrleCacheSize: Int64? = nil,
            cpuThrottleInitial: Int? = nil, cpuThrottleIncrement: Int? = nil,
            announceInitial: Int64? = nil, announceMax: Int64? = nil, announceRounds: Int64? = nil, announceStep: Int64? = nil,
            tlsCreds: String? = nil, tlsHostname: String? = nil
        ) {
            self.downtimeLimit = downtimeLimit
            self.maxBandwidth = maxBandwidth
            self.maxPostcopyBandwidth = maxPostcopyBandwidth
            self.multifdChannels = multifdChannels
            self.xbzrleCacheSize = xbzrleCacheSize
            self.cpuThrottleInitial = cpuThrottleInitial
            self.cpuThrottleIncrement = cpuThrottleIncrement
            self.announceInitial = announceInitial
            self.announceMax = announceMax
            self.announceRounds = announceRounds
            self.announceStep = announceStep
            self.tlsCreds = tlsCreds
            self.tlsHostname = tlsHostname
        }

        enum CodingKeys: String, CodingKey {
            case downtimeLimit = "downtime-limit"
            case maxBandwidth = "max-bandwidth"
            case maxPostcopyBandwidth = "max-postcopy-bandwidth"
            case multifdChannels = "multifd-channels"
            case multifdCompression = "multifd-compression"
            case multifdZlibLevel = "multifd-zlib-level"
            case multifdZstdLevel = "multifd-zstd-level"
            case xbzrleCacheSize = "xbzrle-cache-size"
            case cpuThrottleInitial = "cpu-throttle-initial"
            case cpuThrottleIncrement = "cpu-throttle-increment"
            case cpuThrottleTailslow = "cpu-throttle-tailslow"
            case maxCPUThrottle = "max-cpu-throttle"
            case throttleTriggerThreshold = "throttle-trigger-threshold"
            case announceInitial = "announce-initial"
            case announceMax = "announce-max"
            case announceRounds = "announce-rounds"
            case announceStep = "announce-step"
            case tlsCreds = "tls-creds"
            case tlsHostname = "tls-hostname"
            case tlsAuthz = "tls-authz"
            case compressLevel = "compress-level"
            case compressThreads = "compress-threads"
            case compressWaitThread = "compress-wait-thread"
            case decompressThreads = "decompress-threads"
        }
    }

    public enum DirtyRateStatus: String, QMPLenientEnum, CaseIterable {
        case unstarted, measuring, measured, unknown
    }

    /// `query-dirty-rate`: the last `calc-dirty-rate` measurement.
    public struct DirtyRateInfo: Codable, Sendable, Equatable {
        /// MB/s the guest dirtied memory; present once `status` is measured.
        public var dirtyRate: Int64?
        public var status: DirtyRateStatus
        /// Seconds the measurement ran.
        public var calcTime: Int64
        /// Boot-relative start, seconds.
        public var startTime: Int64
        public var samplePages: Int64?
        /// `page-sampling`, `dirty-ring` or `dirty-bitmap`.
        public var mode: String?

        enum CodingKeys: String, CodingKey {
            case status, mode
            case dirtyRate = "dirty-rate"
            case calcTime = "calc-time"
            case startTime = "start-time"
            case samplePages = "sample-pages"
        }
    }
}
