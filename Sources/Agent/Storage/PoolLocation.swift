import Shared

/// Where a configured storage pool lives, checked once from the config.
enum PoolLocation: Sendable, Equatable, CustomStringConvertible {
    /// The pool's URL names the export; files are paths inside it.
    case nfs(NFSURL)
    /// A directory every host mounts at the same path.
    case sharedPath(String)

    init(_ pool: StoragePoolConfig) throws {
        switch pool.kind {
        case "nfs":
            guard let url = pool.url else { throw StorageError.misconfigured(pool: pool.name, reason: "an nfs pool needs a url") }
            do {
                self = .nfs(try NFSURL(parsing: url, export: .wholePath))
            } catch {
                throw StorageError.misconfigured(pool: pool.name, reason: "\(error)")
            }
        case "shared-path":
            guard let path = pool.path, path.hasPrefix("/") else {
                throw StorageError.misconfigured(pool: pool.name, reason: "a shared-path pool needs an absolute path")
            }
            self = .sharedPath(path)
        default:
            throw StorageError.misconfigured(pool: pool.name, reason: "kind '\(pool.kind)' is not nfs or shared-path")
        }
    }

    var description: String {
        switch self {
        case .nfs(let url): url.description
        case .sharedPath(let path): path
        }
    }
}

enum StorageError: Error, Equatable, CustomStringConvertible {
    case unknownPool(String)
    case misconfigured(pool: String, reason: String)
    case timedOut(pool: String, operation: String, seconds: Double)
    case io(pool: String, operation: String, reason: String)
    case invalidToken(String)
    case invalidLocation(String, reason: String)
    /// A location no configured pool holds: refused, so that the storage
    /// methods never touch files outside the pools.
    case outsidePools(String, pools: [String])
    /// A path inside a pool whose folder resolves (through a symlink) outside it.
    case escapesPool(String, pool: String, resolved: String)

    var description: String {
        switch self {
        case .unknownPool(let name): "no storage pool named '\(name)' on this host"
        case .misconfigured(let pool, let reason): "storage pool '\(pool)' is misconfigured: \(reason)"
        case .timedOut(let pool, let operation, let seconds): "storage pool '\(pool)': \(operation) timed out after \(seconds) s"
        case .io(let pool, let operation, let reason): "storage pool '\(pool)': \(operation) failed: \(reason)"
        case .invalidToken(let name): "invalid token name '\(name)'"
        case .invalidLocation(let location, let reason): "invalid disk location '\(location)': \(reason)"
        case .outsidePools(let location, let pools):
            "\(location) is not inside any storage pool of this host (pools: \(pools.isEmpty ? "none" : pools.joined(separator: ", ")))"
        case .escapesPool(let location, let pool, let resolved):
            "\(location) is in storage pool '\(pool)' by name, but its folder is really \(resolved), outside the pool"
        }
    }
}
