import Foundation

/// Agent calls that copy a disk image that is not on shared storage from one
/// host to another, chunk by chunk through the coordinator's SSH links, for
/// a cold migration. Only files inside the agent's `shared-path` pools are
/// read or written; a copy lands under a temporary name and becomes the disk
/// only when it is complete and its SHA-256 matches the source's.
extension AgentMethods {
    public enum DiskDigest: AgentMethod {
        public static let name = "disk.digest"
        public typealias Params = DiskRef
        public typealias Result = DiskDigestResult
    }

    public enum DiskRead: AgentMethod {
        public static let name = "disk.read"
        public typealias Params = DiskReadParams
        public typealias Result = DiskChunk
    }

    /// Appends to the partial copy (the first chunk creates it; the disk itself
    /// must not exist yet).
    public enum DiskWrite: AgentMethod {
        public static let name = "disk.write"
        public typealias Params = DiskWriteParams
        public typealias Result = Empty
    }

    /// Checks the partial copy's SHA-256 and renames it into place.
    public enum DiskCommit: AgentMethod {
        public static let name = "disk.commit"
        public typealias Params = DiskCommitParams
        public typealias Result = DiskDigestResult
    }

    /// Removes a partial copy left by a failed copy.
    public enum DiskDiscardPartial: AgentMethod {
        public static let name = "disk.discardPartial"
        public typealias Params = DiskRef
        public typealias Result = Empty
    }
}

public struct DiskRef: Codable, Sendable, Equatable {
    public var location: String
    public init(location: String) { self.location = location }
}

public struct DiskDigestResult: Codable, Sendable, Equatable {
    public var sizeBytes: UInt64
    public var sha256: String
    public init(sizeBytes: UInt64, sha256: String) {
        self.sizeBytes = sizeBytes
        self.sha256 = sha256
    }
}

public struct DiskReadParams: Codable, Sendable, Equatable {
    public var location: String
    public var offset: UInt64
    public var length: Int
    public init(location: String, offset: UInt64, length: Int) {
        self.location = location
        self.offset = offset
        self.length = length
    }
}

public struct DiskChunk: Codable, Sendable, Equatable {
    public var data: Data
    public var eof: Bool
    public init(data: Data, eof: Bool) {
        self.data = data
        self.eof = eof
    }
}

public struct DiskWriteParams: Codable, Sendable, Equatable {
    public var location: String
    public var offset: UInt64
    public var data: Data
    public init(location: String, offset: UInt64, data: Data) {
        self.location = location
        self.offset = offset
        self.data = data
    }
}

public struct DiskCommitParams: Codable, Sendable, Equatable {
    public var location: String
    public var sha256: String
    public var sizeBytes: UInt64
    public init(location: String, sha256: String, sizeBytes: UInt64) {
        self.location = location
        self.sha256 = sha256
        self.sizeBytes = sizeBytes
    }
}
