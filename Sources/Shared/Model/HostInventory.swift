import Foundation

/// What one host has and runs, as its agent reports it.
public struct HostInventory: Codable, Sendable, Equatable {
    /// The host's name in the cluster (the agent's configured name).
    public var host: String
    public var agentVersion: String
    public var cpu: CPUInventory
    public var memory: MemoryInventory
    public var load: LoadAverage
    /// Nil when QEMU could not be started to ask it; `qemuError` says why.
    public var qemu: QEMUInventory?
    public var qemuError: String?
    public var accelerator: AcceleratorStatus
    public var storagePools: [StoragePoolStatus]
    public var vms: [VMSummary]
    public var collectedAt: Date

    public init(
        host: String, agentVersion: String, cpu: CPUInventory, memory: MemoryInventory,
        load: LoadAverage, qemu: QEMUInventory?, qemuError: String?, accelerator: AcceleratorStatus,
        storagePools: [StoragePoolStatus], vms: [VMSummary], collectedAt: Date
    ) {
        self.host = host
        self.agentVersion = agentVersion
        self.cpu = cpu
        self.memory = memory
        self.load = load
        self.qemu = qemu
        self.qemuError = qemuError
        self.accelerator = accelerator
        self.storagePools = storagePools
        self.vms = vms
        self.collectedAt = collectedAt
    }
}

public struct CPUInventory: Codable, Sendable, Equatable {
    public var vendor: String
    public var model: String
    public var flags: [String]
    /// Logical CPUs the host offers to guests.
    public var count: Int
    /// Share of all CPUs busy over the last sampling interval, 0...1.
    public var utilisation: Double

    public init(vendor: String, model: String, flags: [String], count: Int, utilisation: Double) {
        self.vendor = vendor
        self.model = model
        self.flags = flags
        self.count = count
        self.utilisation = utilisation
    }
}

public struct MemoryInventory: Codable, Sendable, Equatable {
    /// Memory the host offers to guests: the machine's, or less when the
    /// agent's config caps it.
    public var totalBytes: UInt64
    public var availableBytes: UInt64

    public init(totalBytes: UInt64, availableBytes: UInt64) {
        self.totalBytes = totalBytes
        self.availableBytes = availableBytes
    }

    public var usedBytes: UInt64 { totalBytes &- min(availableBytes, totalBytes) }
}

public struct LoadAverage: Codable, Sendable, Equatable {
    public var one: Double
    public var five: Double
    public var fifteen: Double

    public init(one: Double, five: Double, fifteen: Double) {
        self.one = one
        self.five = five
        self.fifteen = fifteen
    }
}

public struct QEMUInventory: Codable, Sendable, Equatable {
    public var binary: String
    /// "7.2.11" style, from QMP `query-version`.
    public var version: String
    public var machineTypes: [MachineType]
    /// Every CPU model QEMU knows, with what keeps it from running here.
    public var cpuModels: [CPUModel]
    /// The CPU model this host is configured to play (the agent's
    /// `cpuLevel`, like oVirt's cluster CPU type or VMware's EVC): models
    /// with features beyond it count as not runnable here. Nil: no level.
    public var cpuLevel: String?

    public init(binary: String, version: String, machineTypes: [MachineType], cpuModels: [CPUModel], cpuLevel: String? = nil) {
        self.binary = binary
        self.version = version
        self.machineTypes = machineTypes
        self.cpuModels = cpuModels
        self.cpuLevel = cpuLevel
    }

    public var runnableCPUModels: [String] { cpuModels.filter(\.runnable).map(\.name) }
}

public struct MachineType: Codable, Sendable, Equatable {
    public var name: String
    public var alias: String?
    public var isDefault: Bool

    public init(name: String, alias: String? = nil, isDefault: Bool = false) {
        self.name = name
        self.alias = alias
        self.isDefault = isDefault
    }
}

public struct CPUModel: Codable, Sendable, Equatable {
    public var name: String
    /// Features of this model the host (or its configured CPU level) lacks;
    /// the model is runnable only when this is empty.
    public var unavailableFeatures: [String]
    public var migrationSafe: Bool?
    /// The model's features (QMP static expansion), for comparing models
    /// across hosts (`coord cpu-baseline`). Given for runnable models only,
    /// to keep the inventory small; nil from older agents.
    public var features: [String]?

    public init(name: String, unavailableFeatures: [String], migrationSafe: Bool? = nil, features: [String]? = nil) {
        self.name = name
        self.unavailableFeatures = unavailableFeatures
        self.migrationSafe = migrationSafe
        self.features = features
    }

    public var runnable: Bool { unavailableFeatures.isEmpty }
}

/// Which accelerator guests get here, and why.
public struct AcceleratorStatus: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case kvm, tcg
        /// The probe has not finished yet.
        case probing
        /// Neither works (QEMU missing or broken).
        case none
    }

    public var kind: Kind
    /// Whether /dev/kvm exists; says nothing about whether it boots a guest.
    public var kvmDevicePresent: Bool
    /// Whether the probe booted a real kernel under KVM.
    public var kvmBootsGuest: Bool?
    /// How the probe decided, in words.
    public var detail: String

    public init(kind: Kind, kvmDevicePresent: Bool, kvmBootsGuest: Bool?, detail: String) {
        self.kind = kind
        self.kvmDevicePresent = kvmDevicePresent
        self.kvmBootsGuest = kvmBootsGuest
        self.detail = detail
    }
}

public struct StoragePoolStatus: Codable, Sendable, Equatable {
    public var name: String
    public var kind: String
    public var location: String
    public var reachable: Bool
    public var error: String?
    public var totalBytes: UInt64?
    public var freeBytes: UInt64?

    public init(
        name: String, kind: String, location: String, reachable: Bool, error: String? = nil,
        totalBytes: UInt64? = nil, freeBytes: UInt64? = nil
    ) {
        self.name = name
        self.kind = kind
        self.location = location
        self.reachable = reachable
        self.error = error
        self.totalBytes = totalBytes
        self.freeBytes = freeBytes
    }
}

public struct VMSummary: Codable, Sendable, Equatable {
    public var name: String
    public var state: String
    public var memoryBytes: UInt64
    public var vcpus: Int
    public var pid: Int32?
    /// What placement needs to know to move the VM (absent from older agents).
    public var cpuModel: String?
    public var machineType: String?
    public var disks: [String]?

    public init(
        name: String, state: String, memoryBytes: UInt64, vcpus: Int, pid: Int32?,
        cpuModel: String? = nil, machineType: String? = nil, disks: [String]? = nil
    ) {
        self.name = name
        self.state = state
        self.memoryBytes = memoryBytes
        self.vcpus = vcpus
        self.pid = pid
        self.cpuModel = cpuModel
        self.machineType = machineType
        self.disks = disks
    }
}
