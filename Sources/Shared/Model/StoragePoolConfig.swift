/// A storage pool as configs name it (the agent's, and coord's list of the
/// cluster's shared pools): `nfs` with a `url`, or `shared-path` with a `path`.
public struct StoragePoolConfig: Codable, Sendable, Equatable {
    public var name: String
    public var kind: String
    public var url: String?
    public var path: String?

    public init(name: String, kind: String, url: String? = nil, path: String? = nil) {
        self.name = name
        self.kind = kind
        self.url = url
        self.path = path
    }
}
