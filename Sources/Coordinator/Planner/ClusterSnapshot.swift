import Foundation
import Shared

/// Everything the planner looks at, frozen at one moment: the input of
/// evacuation and balancing plans, and of `coord balance --snapshot FILE`.
/// Its JSON form is documented in docs/planner.md.
struct ClusterSnapshot: Codable, Sendable, Equatable {
    /// When it was taken; balancing measures cool-downs from here.
    var takenAt: Date?
    var hosts: [Host]
    var vms: [VM]

    struct Host: Codable, Sendable, Equatable {
        var name: String
        var memoryTotalBytes: UInt64
        /// Free now, with the VMs listed on this host already running.
        var memoryAvailableBytes: UInt64
        var cpuCount: Int
        /// Share of all CPUs busy, 0...1.
        var cpuUtilisation: Double
        /// CPU models QEMU can run here.
        var cpuModels: [String]
        /// Models QEMU knows but cannot run here, with the features missing
        /// (so a rejection can say what is lacking); nil when not known.
        var unrunnableCPUModels: [String: [String]]?
        var machineTypes: [String]
        /// Storage pool locations reachable from here (`nfs://server/export` or a path).
        var storage: [String]
        var maintenance: Bool = false
    }

    struct VM: Codable, Sendable, Equatable {
        var name: String
        var host: String
        /// Guest RAM; the planner adds QEMU's overhead (`VMSpec.qemuOverheadBytes`).
        var memoryBytes: UInt64
        var vcpus: Int
        var cpuModel: String
        var machineType: String
        /// Disk locations (URLs or paths); each must lie under a reachable storage location.
        var disks: [String] = []
        /// Share of its vCPUs busy, 0...1; it uses cpuLoad × vcpus of the host's CPUs.
        var cpuLoad: Double = 0
        /// Guest memory written per second, as measured; drives migration time.
        var dirtyRateBytesPerSecond: Double = 0
        /// No two VMs of one group may share a host.
        var antiAffinityGroup: String?
        /// When it last migrated; balancing leaves it alone for a cool-down after.
        var lastMovedAt: Date?
        /// As its agent reports it (running, paused, stopped, crashed,
        /// migrating); nil, as in a hand-written snapshot, means running.
        /// Only a running or paused VM can be migrated, so only those are moved.
        var state: String?
    }
}

extension ClusterSnapshot.Host {
    /// Optional fields may be left out of the JSON.
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        memoryTotalBytes = try c.decode(UInt64.self, forKey: .memoryTotalBytes)
        memoryAvailableBytes = try c.decode(UInt64.self, forKey: .memoryAvailableBytes)
        cpuCount = try c.decode(Int.self, forKey: .cpuCount)
        cpuUtilisation = try c.decodeIfPresent(Double.self, forKey: .cpuUtilisation) ?? 0
        cpuModels = try c.decode([String].self, forKey: .cpuModels)
        unrunnableCPUModels = try c.decodeIfPresent([String: [String]].self, forKey: .unrunnableCPUModels)
        machineTypes = try c.decode([String].self, forKey: .machineTypes)
        storage = try c.decodeIfPresent([String].self, forKey: .storage) ?? []
        maintenance = try c.decodeIfPresent(Bool.self, forKey: .maintenance) ?? false
    }
}

extension ClusterSnapshot.VM {
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        host = try c.decode(String.self, forKey: .host)
        memoryBytes = try c.decode(UInt64.self, forKey: .memoryBytes)
        vcpus = try c.decodeIfPresent(Int.self, forKey: .vcpus) ?? 1
        cpuModel = try c.decode(String.self, forKey: .cpuModel)
        machineType = try c.decode(String.self, forKey: .machineType)
        disks = try c.decodeIfPresent([String].self, forKey: .disks) ?? []
        cpuLoad = try c.decodeIfPresent(Double.self, forKey: .cpuLoad) ?? 0
        dirtyRateBytesPerSecond = try c.decodeIfPresent(Double.self, forKey: .dirtyRateBytesPerSecond) ?? 0
        antiAffinityGroup = try c.decodeIfPresent(String.self, forKey: .antiAffinityGroup)
        lastMovedAt = try c.decodeIfPresent(Date.self, forKey: .lastMovedAt)
        state = try c.decodeIfPresent(String.self, forKey: .state)
    }

    /// Host memory it takes: guest RAM plus QEMU's overhead.
    var footprintBytes: UInt64 { memoryBytes + VMSpec.qemuOverheadBytes }

    /// Why the planner must leave it where it is, or nil when it may move:
    /// the executor moves only a QEMU that runs (stopped VMs cannot be
    /// migrated yet), and one already being migrated belongs to that migration.
    var pinnedReason: String? {
        switch state {
        case nil, "running", "paused": nil
        case "migrating", "incoming": "being migrated already (coord history; coord recover if its coord is gone)"
        case let other?: "\(other), not running: only a running VM can be migrated (start it, or move its disks by hand)"
        }
    }
}

extension ClusterSnapshot {
    /// The snapshot as JSON the way `coord balance --snapshot` reads it (dates ISO 8601).
    static func decode(_ data: Data) throws -> ClusterSnapshot {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(ClusterSnapshot.self, from: data)
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}
