import Shared

/// A disk's location checked against the agent's storage pools: which pool
/// holds it, how to reach the file, and its folder (where tokens go). Only
/// locations inside a configured pool resolve, so the storage methods cannot
/// be pointed at arbitrary files. Pure; the symlink check for paths is done
/// where the file system is touched (StoragePools+Disks).
struct DiskLocation: Equatable {
    enum File: Equatable {
        /// The pool's export URL (its ports and version) with the disk's path in it.
        case nfs(NFSURL)
        case path(String)
    }

    var pool: StoragePoolConfig
    var file: File
    /// The disk's folder, in the form StorageTokens writes tokens to.
    var folder: PoolLocation

    static func resolve(_ location: String, in pools: [StoragePoolConfig]) throws -> DiskLocation {
        let candidates = pools.compactMap { pool in (try? PoolLocation(pool)).map { (pool, $0) } }
        if location.lowercased().hasPrefix("nfs://") {
            do {
                _ = try NFSURL(parsing: location)
            } catch {
                throw StorageError.invalidLocation(location, reason: "\(error)")
            }
            for case (let pool, .nfs(let root)) in candidates {
                guard let inside = try? NFSURL(parsing: location, export: .prefix(root.export)), sameServer(inside, root) else { continue }
                guard inside.path != "/" else { throw StorageError.invalidLocation(location, reason: "it names the export of pool '\(pool.name)', not a file in it") }
                var file = root
                file.path = inside.path
                var folder = root
                folder.path = parent(inside.path)
                return DiskLocation(pool: pool, file: .nfs(file), folder: .nfs(folder))
            }
        } else {
            guard location.hasPrefix("/") else {
                throw StorageError.invalidLocation(location, reason: "expected nfs://server/export/file or an absolute path")
            }
            let parts = location.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            if parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
                throw StorageError.invalidLocation(location, reason: "empty, '.' or '..' path components are not allowed")
            }
            for case (let pool, .sharedPath(let root)) in candidates {
                let prefix = root.hasSuffix("/") ? root : root + "/"
                guard location.hasPrefix(prefix) else { continue }
                return DiskLocation(pool: pool, file: .path(location), folder: .sharedPath(parent(location)))
            }
        }
        throw StorageError.outsidePools(location, pools: candidates.map { "\($0.0.name) (\($0.1))" })
    }

    /// The same server and, where the disk's URL names them, the same ports and version.
    private static func sameServer(_ disk: NFSURL, _ pool: NFSURL) -> Bool {
        disk.server.lowercased() == pool.server.lowercased()
            && (disk.nfsPort == nil || disk.nfsPort == pool.nfsPort)
            && (disk.mountPort == nil || disk.mountPort == pool.mountPort)
            && (disk.version == nil || disk.version == pool.version)
    }

    private static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }
}
