/// Run-state, CPU-model and machine-type types from qapi/run-state.json,
/// qapi/machine-target.json and qapi/machine.json (QEMU 7.2).
extension QMP {
    /// The VM's run state (`query-status`).
    public enum RunState: String, QMPLenientEnum, CaseIterable {
        case debug
        /// Waiting for an incoming migration (`-incoming`).
        case inmigrate
        case internalError = "internal-error"
        case ioError = "io-error"
        case paused
        /// Source side after a completed migration: stopped for good.
        case postmigrate
        /// Started with `-S`, never run yet.
        case prelaunch
        case finishMigrate = "finish-migrate"
        case restoreVM = "restore-vm"
        case running
        case saveVM = "save-vm"
        case shutdown, suspended, watchdog
        case guestPanicked = "guest-panicked"
        case colo
        case unknown
    }

    public struct StatusInfo: Codable, Sendable, Equatable {
        /// Whether the guest's CPUs run.
        public var running: Bool
        public var status: RunState

        public init(running: Bool, status: RunState) {
            self.running = running
            self.status = status
        }
    }

    /// One entry of `query-cpu-definitions`.
    public struct CPUDefinition: Codable, Sendable, Equatable {
        public var name: String
        /// True when the model's features do not change between QEMU versions
        /// and hosts, so it is safe to migrate with.
        public var migrationSafe: Bool?
        /// True when the model does not depend on the accelerator or host.
        public var isStatic: Bool
        /// Features this host (and accelerator) cannot provide. Empty means
        /// runnable here; nil means QEMU could not tell.
        public var unavailableFeatures: [String]?
        public var typename: String?
        public var aliasOf: String?
        public var deprecated: Bool?

        /// Runnable on this host with this accelerator.
        public var isRunnable: Bool { unavailableFeatures?.isEmpty ?? false }

        enum CodingKeys: String, CodingKey {
            case name, typename, deprecated
            case migrationSafe = "migration-safe"
            case isStatic = "static"
            case unavailableFeatures = "unavailable-features"
            case aliasOf = "alias-of"
        }
    }

    /// One entry of `query-machines`.
    public struct MachineInfo: Codable, Sendable, Equatable {
        /// Versioned name, e.g. `pc-q35-7.2`.
        public var name: String
        /// Unversioned alias, e.g. `q35` or `pc`, that points at this machine.
        public var alias: String?
        public var isDefault: Bool?
        public var cpuMax: Int?
        public var hotpluggableCPUs: Bool?
        public var deprecated: Bool?
        public var defaultCPUType: String?

        enum CodingKeys: String, CodingKey {
            case name, alias, deprecated
            case isDefault = "is-default"
            case cpuMax = "cpu-max"
            case hotpluggableCPUs = "hotpluggable-cpus"
            case defaultCPUType = "default-cpu-type"
        }
    }
}
