import Foundation
import Shared

/// The storage methods (`storage.token.*`, `storage.disk.check`): tokens
/// beside a disk, and opening the disk as this host would. Every location is
/// first confined to a configured pool (DiskLocation); for paths, the disk's
/// folder must also really lie inside the pool, symlinks resolved.
extension StoragePools {
    func writeToken(beside location: String) async throws -> StorageTokenWritten {
        let (disk, folderExists) = try await confined(location)
        guard folderExists else {
            throw StorageError.io(pool: disk.pool.name, operation: "write token", reason: "folder \(disk.folder) does not exist")
        }
        return StorageTokenWritten(pool: disk.pool.name, token: try await tokens.write(pool: disk.pool.name, at: disk.folder))
    }

    /// A token is not found where the disk's folder does not exist at all.
    func readToken(beside location: String, token: StorageToken) async throws -> StorageTokenFound {
        let (disk, folderExists) = try await confined(location)
        guard folderExists else { return StorageTokenFound(pool: disk.pool.name, found: false) }
        return StorageTokenFound(pool: disk.pool.name, found: try await tokens.read(pool: disk.pool.name, at: disk.folder, token: token))
    }

    func removeToken(beside location: String, token: StorageToken) async throws {
        let (disk, folderExists) = try await confined(location)
        guard folderExists else { return }
        try await tokens.remove(pool: disk.pool.name, at: disk.folder, token: token)
    }

    func checkDisk(_ location: String) async throws -> StorageDiskStatus {
        let (disk, folderExists) = try await confined(location)
        let pool = disk.pool.name
        guard folderExists else { return StorageDiskStatus(pool: pool, exists: false) }
        switch disk.file {
        case .nfs(let url):
            return try await withClosing(try await NFSClient.mount(url, timeout: checkTimeout), close: { await $0.close() }) { client in
                do {
                    let status = try await client.stat(url.path)
                    return StorageDiskStatus(pool: pool, exists: true, sizeBytes: status.size, regularFile: status.mode & UInt32(S_IFMT) == UInt32(S_IFREG))
                } catch let error as NFSError where error.kind == .notFound {
                    return StorageDiskStatus(pool: pool, exists: false)
                }
            }
        case .path(let path):
            return try await blocking(pool, "stat \(path)") {
                var info = stat()
                guard stat(path, &info) == 0 else {
                    if errno == ENOENT || errno == ENOTDIR { return StorageDiskStatus(pool: pool, exists: false) }
                    throw StorageError.io(pool: pool, operation: "stat \(path)", reason: String(cString: strerror(errno)))
                }
                return StorageDiskStatus(pool: pool, exists: true, sizeBytes: UInt64(info.st_size), regularFile: info.st_mode & S_IFMT == S_IFREG)
            }
        }
    }

    /// The resolved location, and whether the disk's folder exists. A path's
    /// folder must resolve inside the pool's own real path, and its token
    /// folder must not be a symlink, so no write lands outside the pool.
    func confined(_ location: String) async throws -> (DiskLocation, folderExists: Bool) {
        let disk = try DiskLocation.resolve(location, in: pools)
        guard case .sharedPath(let folder) = disk.folder, case .sharedPath(let root) = try PoolLocation(disk.pool) else {
            return (disk, true)  // libnfs: the server confines paths to its export
        }
        let pool = disk.pool.name
        let exists = try await blocking(pool, "resolve \(folder)") { () throws -> Bool in
            guard let realFolder = Self.realPath(folder) else { return false }
            guard let realRoot = Self.realPath(root) else {
                throw StorageError.io(pool: pool, operation: "resolve", reason: "pool path \(root) does not exist")
            }
            guard realFolder == realRoot || realFolder.hasPrefix(realRoot.hasSuffix("/") ? realRoot : realRoot + "/") else {
                throw StorageError.escapesPool(location, pool: pool, resolved: realFolder)
            }
            var info = stat()
            if lstat("\(folder)/\(StorageTokens.directory)", &info) == 0, info.st_mode & S_IFMT == S_IFLNK {
                throw StorageError.escapesPool(location, pool: pool, resolved: "\(folder)/\(StorageTokens.directory) (a symlink)")
            }
            return true
        }
        return (disk, exists)
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    func blocking<T: Sendable>(_ pool: String, _ operation: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await BlockingCall.run(timeout: checkTimeout, body)
        } catch is BlockingCall.TimedOut {
            throw StorageError.timedOut(pool: pool, operation: operation, seconds: Double(checkTimeout.components.seconds))
        }
    }
}
