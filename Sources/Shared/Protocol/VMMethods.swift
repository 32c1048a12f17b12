import Foundation

/// Agent calls that define, run and inspect VMs.
extension AgentMethods {
    public enum VMCreate: AgentMethod {
        public static let name = "vm.create"
        public typealias Params = VMCreateParams
        public typealias Result = VMInfo
    }

    public enum VMStart: AgentMethod {
        public static let name = "vm.start"
        public typealias Params = VMRef
        public typealias Result = VMInfo
    }

    /// ACPI power-off, then forced after the timeout.
    public enum VMStop: AgentMethod {
        public static let name = "vm.stop"
        public typealias Params = VMStopParams
        public typealias Result = VMStopResult
    }

    /// Ends QEMU at once (SIGKILL); the guest gets no warning.
    public enum VMKill: AgentMethod {
        public static let name = "vm.kill"
        public typealias Params = VMRef
        public typealias Result = VMInfo
    }

    /// Forgets a stopped VM and removes its state (and the disks Ferry made
    /// for it, unless told to keep them).
    public enum VMDelete: AgentMethod {
        public static let name = "vm.delete"
        public typealias Params = VMDeleteParams
        public typealias Result = VMDeleteResult
    }

    public enum VMList: AgentMethod {
        public static let name = "vm.list"
        public typealias Params = Empty
        public typealias Result = [VMInfo]
    }

    public enum VMShow: AgentMethod {
        public static let name = "vm.show"
        public typealias Params = VMRef
        public typealias Result = VMDetails
    }

    /// Reads the VM's serial console log from an offset.
    public enum VMConsole: AgentMethod {
        public static let name = "vm.console"
        public typealias Params = VMConsoleParams
        public typealias Result = VMConsoleChunk
    }
}

public struct VMRef: Codable, Sendable, Equatable {
    public var name: String
    public init(name: String) { self.name = name }
}

public struct VMCreateParams: Codable, Sendable, Equatable {
    public var spec: VMSpec
    public var start: Bool
    public init(spec: VMSpec, start: Bool = true) {
        self.spec = spec
        self.start = start
    }
}

public struct VMStopParams: Codable, Sendable, Equatable {
    public var name: String
    /// Seconds to wait for the guest to power off before forcing it.
    public var timeoutSeconds: Double
    public init(name: String, timeoutSeconds: Double = 30) {
        self.name = name
        self.timeoutSeconds = timeoutSeconds
    }
}

public struct VMStopResult: Codable, Sendable, Equatable {
    public enum How: String, Codable, Sendable {
        /// The guest powered itself off after the ACPI request.
        case poweredOff
        /// The guest ignored ACPI; QEMU was told to quit.
        case forced
        /// It was not running.
        case alreadyStopped
    }

    public var vm: VMInfo
    public var how: How
    public init(vm: VMInfo, how: How) {
        self.vm = vm
        self.how = how
    }
}

public struct VMDeleteParams: Codable, Sendable, Equatable {
    public var name: String
    public var keepDisks: Bool
    public init(name: String, keepDisks: Bool = false) {
        self.name = name
        self.keepDisks = keepDisks
    }
}

public struct VMDeleteResult: Codable, Sendable, Equatable {
    public var removedDisks: [String]
    public var keptDisks: [String]
    public init(removedDisks: [String], keptDisks: [String]) {
        self.removedDisks = removedDisks
        self.keptDisks = keptDisks
    }
}

public struct VMConsoleParams: Codable, Sendable, Equatable {
    public var name: String
    /// Byte offset to read from; negative counts back from the end.
    public var offset: Int64
    public var maxBytes: Int
    public init(name: String, offset: Int64 = -65536, maxBytes: Int = 65536) {
        self.name = name
        self.offset = offset
        self.maxBytes = maxBytes
    }
}

public struct VMConsoleChunk: Codable, Sendable, Equatable {
    public var text: String
    /// Where the text starts, and where the next read should start.
    public var offset: Int64
    public var nextOffset: Int64
    public init(text: String, offset: Int64, nextOffset: Int64) {
        self.text = text
        self.offset = offset
        self.nextOffset = nextOffset
    }
}

/// A VM as listed: enough to see what runs where.
public struct VMInfo: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case running, paused, stopped, incoming, migrating, crashed
    }

    public var name: String
    public var host: String
    public var state: State
    public var pid: Int32?
    public var vcpus: Int
    public var memoryBytes: UInt64
    public var cpuModel: String
    public var machineType: String
    public var startedAt: Date?

    public init(
        name: String, host: String, state: State, pid: Int32?, vcpus: Int, memoryBytes: UInt64, cpuModel: String,
        machineType: String, startedAt: Date?
    ) {
        self.name = name
        self.host = host
        self.state = state
        self.pid = pid
        self.vcpus = vcpus
        self.memoryBytes = memoryBytes
        self.cpuModel = cpuModel
        self.machineType = machineType
        self.startedAt = startedAt
    }
}

/// Everything about one VM: its spec, its state, and what its guest last said.
public struct VMDetails: Codable, Sendable, Equatable {
    public var info: VMInfo
    public var spec: VMSpec
    /// QEMU's own run state (running, paused, postmigrate, …) when it answered.
    public var qemuStatus: String?
    public var consolePath: String
    /// When the console log was last written: after a migration away, the
    /// moment the source's guest printed its last line. Seconds since 1970,
    /// a plain number so the milliseconds survive the wire.
    public var consoleModifiedAtEpoch: Double?
    /// Disk images Ferry created for the VM (removed when it is deleted).
    public var createdDisks: [String]?
    public var guest: GuestStatus

    public init(info: VMInfo, spec: VMSpec, qemuStatus: String?, consolePath: String, consoleModifiedAtEpoch: Double? = nil, guest: GuestStatus) {
        self.info = info
        self.spec = spec
        self.qemuStatus = qemuStatus
        self.consolePath = consolePath
        self.consoleModifiedAtEpoch = consoleModifiedAtEpoch
        self.guest = guest
    }
}
