/// Agent calls that tell whether two hosts see a disk on the same storage
/// (DESIGN: "every disk is on storage the target sees as the same"). Each
/// takes a disk's location (`nfs://server/export/file` or an absolute path)
/// and refuses any location outside the agent's configured storage pools, so
/// none of them reads or writes arbitrary files.
extension AgentMethods {
    /// Writes a token with random name and content in `.ferry-tokens/` of the
    /// disk's folder (the disk itself need not exist) and returns it.
    public enum StorageTokenWrite: AgentMethod {
        public static let name = "storage.token.write"
        public typealias Params = StorageLocationParams
        public typealias Result = StorageTokenWritten
    }

    /// Whether the token another host wrote beside the disk is there, with
    /// the same content. `found: false` is an answer, not an error.
    public enum StorageTokenRead: AgentMethod {
        public static let name = "storage.token.read"
        public typealias Params = StorageTokenParams
        public typealias Result = StorageTokenFound
    }

    /// Deletes a token beside the disk; one already gone is fine.
    public enum StorageTokenRemove: AgentMethod {
        public static let name = "storage.token.remove"
        public typealias Params = StorageTokenParams
        public typealias Result = Empty
    }

    /// Opens the disk as this host would: through libnfs for `nfs://`, by
    /// `stat` for a path. A missing disk is `exists: false`, not an error.
    public enum StorageDiskCheck: AgentMethod {
        public static let name = "storage.disk.check"
        public typealias Params = StorageLocationParams
        public typealias Result = StorageDiskStatus
    }
}

public struct StorageLocationParams: Codable, Sendable, Equatable {
    /// A disk's location, as in `VMSpec.Disk.location`.
    public var location: String
    public init(location: String) { self.location = location }
}

public struct StorageTokenParams: Codable, Sendable, Equatable {
    public var location: String
    public var token: StorageToken
    public init(location: String, token: StorageToken) {
        self.location = location
        self.token = token
    }
}

public struct StorageTokenWritten: Codable, Sendable, Equatable {
    /// The storage pool of this host that holds the location.
    public var pool: String
    public var token: StorageToken
    public init(pool: String, token: StorageToken) {
        self.pool = pool
        self.token = token
    }
}

public struct StorageTokenFound: Codable, Sendable, Equatable {
    public var pool: String
    public var found: Bool
    public init(pool: String, found: Bool) {
        self.pool = pool
        self.found = found
    }
}

public struct StorageDiskStatus: Codable, Sendable, Equatable {
    public var pool: String
    public var exists: Bool
    public var sizeBytes: UInt64?
    /// False for a directory or device where a disk image was expected.
    public var regularFile: Bool?

    public init(pool: String, exists: Bool, sizeBytes: UInt64? = nil, regularFile: Bool? = nil) {
        self.pool = pool
        self.exists = exists
        self.sizeBytes = sizeBytes
        self.regularFile = regularFile
    }
}
