/// What a VM is: everything needed to start it, and to start an identical
/// device model on another host for a migration. Written by people as YAML
/// (`coord vm create -f SPEC`), carried as JSON in the agent protocol.
///
/// ```yaml
/// name: vm1
/// vcpus: 1
/// memory: 262136k            # k, M, G suffixes (binary); see memory alignment below
/// cpuModel: qemu64           # a named QEMU model, never host or max
/// machineType: pc-q35-7.2    # versioned, never an alias such as q35
/// disks:
///   - {url: "nfs://198.51.100.2/ferry/vm1.qcow2", format: qcow2, size: 64M}
/// nics:
///   - {bridge: br0, mac: "52:54:00:00:00:01"}
/// boot:
///   kernel: /srv/guest/vmlinux
///   initrd: /srv/guest/initramfs.gz
///   cmdline: "console=ttyS0 ferry.name=vm1"
/// ```
public struct VMSpec: Codable, Sendable, Equatable {
    public var name: String
    public var vcpus: Int
    public var memory: MemorySize
    public var cpuModel: String
    public var machineType: String
    public var disks: [Disk]
    public var nics: [NIC]
    public var boot: Boot

    /// What QEMU costs beyond guest RAM; placement and the agent both count it.
    public static let qemuOverheadBytes: UInt64 = 64 << 20

    /// Host memory the VM takes: guest RAM plus QEMU's overhead.
    public var footprintBytes: UInt64 { memory.bytes + Self.qemuOverheadBytes }

    public init(
        name: String, vcpus: Int = 1, memory: MemorySize, cpuModel: String, machineType: String,
        disks: [Disk] = [], nics: [NIC] = [], boot: Boot
    ) {
        self.name = name
        self.vcpus = vcpus
        self.memory = memory
        self.cpuModel = cpuModel
        self.machineType = machineType
        self.disks = disks
        self.nics = nics
        self.boot = boot
    }

    /// Leaving out vcpus (1), disks or nics (none) is fine.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        vcpus = try c.decodeIfPresent(Int.self, forKey: .vcpus) ?? 1
        memory = try c.decode(MemorySize.self, forKey: .memory)
        cpuModel = try c.decode(String.self, forKey: .cpuModel)
        machineType = try c.decode(String.self, forKey: .machineType)
        disks = try c.decodeIfPresent([Disk].self, forKey: .disks) ?? []
        nics = try c.decodeIfPresent([NIC].self, forKey: .nics) ?? []
        boot = try c.decode(Boot.self, forKey: .boot)
    }

    public struct Disk: Codable, Sendable, Equatable {
        /// `nfs://server/export/path`: QEMU opens it itself through libnfs.
        public var url: String?
        /// A path on a mount every host shares.
        public var path: String?
        public var format: String
        /// Create the image with this size when it does not exist yet.
        public var size: MemorySize?

        public init(url: String? = nil, path: String? = nil, format: String = "qcow2", size: MemorySize? = nil) {
            self.url = url
            self.path = path
            self.format = format
            self.size = size
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            url = try c.decodeIfPresent(String.self, forKey: .url)
            path = try c.decodeIfPresent(String.self, forKey: .path)
            format = try c.decodeIfPresent(String.self, forKey: .format) ?? "qcow2"
            size = try c.decodeIfPresent(MemorySize.self, forKey: .size)
        }

        /// What QEMU and qemu-img are given.
        public var location: String { url ?? path ?? "" }
    }

    public struct NIC: Codable, Sendable, Equatable {
        public var bridge: String
        public var mac: String

        public init(bridge: String, mac: String) {
            self.bridge = bridge
            self.mac = mac
        }
    }

    public struct Boot: Codable, Sendable, Equatable {
        public var kernel: String?
        public var initrd: String?
        public var cmdline: String?
        /// Boot from the first disk instead of a kernel.
        public var disk: Bool?

        public init(kernel: String? = nil, initrd: String? = nil, cmdline: String? = nil, disk: Bool? = nil) {
            self.kernel = kernel
            self.initrd = initrd
            self.cmdline = cmdline
            self.disk = disk
        }
    }
}

/// A size in bytes, written as people write sizes: `262136k`, `256M`, `1G`,
/// or a plain byte count.
public struct MemorySize: Codable, Sendable, Equatable, Hashable, CustomStringConvertible {
    public var bytes: UInt64

    public init(bytes: UInt64) { self.bytes = bytes }

    public init?(parsing text: String) {
        let units: [Character: UInt64] = ["k": 1 << 10, "K": 1 << 10, "m": 1 << 20, "M": 1 << 20, "g": 1 << 30, "G": 1 << 30]
        var digits = Substring(text.trimmingSpaces)
        var multiplier: UInt64 = 1
        if digits.hasSuffix("iB") || digits.hasSuffix("ib") { digits = digits.dropLast(2) }
        if let last = digits.last, let unit = units[last] {
            multiplier = unit
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, let value = UInt64(digits) else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { return nil }
        bytes = product
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(UInt64.self) {
            bytes = number
            return
        }
        let text = try container.decode(String.self)
        guard let parsed = MemorySize(parsing: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not a size (examples: 262136k, 256M, 1G)")
        }
        self = parsed
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// The exact size in the largest unit that divides it: QEMU's `-m` syntax.
    public var description: String {
        for (unit, suffix) in [(UInt64(1 << 30), "G"), (1 << 20, "M"), (1 << 10, "k")] where bytes >= unit && bytes % unit == 0 {
            return "\(bytes / unit)\(suffix)"
        }
        return "\(bytes)"
    }

    public static func mebibytes(_ value: UInt64) -> MemorySize { MemorySize(bytes: value << 20) }
}

extension String {
    var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
