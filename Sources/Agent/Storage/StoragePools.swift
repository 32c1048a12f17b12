import Foundation
import Logging
import ServiceLifecycle
import Shared

/// The host's storage pools: whether each is reachable and how much space it
/// has, checked in the background so that `statuses()` (the inventory) never
/// waits on a dead NFS server; plus the shared-storage token checks.
final class StoragePools: Service, Sendable {
    let pools: [StoragePoolConfig]
    /// Bounds one pool's check (mount + statvfs) and each token operation.
    let checkTimeout: Duration
    let refreshInterval: Duration
    let tokens: StorageTokens
    private let logger: Logger
    private let state = LockedState()

    init(
        pools: [StoragePoolConfig], hostName: String = ProcessInfo.processInfo.hostName,
        checkTimeout: Duration = .seconds(3), refreshInterval: Duration = .seconds(10),
        logger: Logger = Logger(label: "storage")
    ) {
        self.pools = pools
        self.checkTimeout = checkTimeout
        self.refreshInterval = refreshInterval
        self.tokens = StorageTokens(timeout: checkTimeout, writer: hostName)
        self.logger = logger
    }

    /// The last known status of every pool, in config order; instant.
    func statuses() -> [StoragePoolStatus] {
        let known = state.withLock { $0.statuses }
        return pools.map { pool in
            known[pool.name] ?? StoragePoolStatus(
                name: pool.name, kind: pool.kind, location: Self.location(of: pool), reachable: false,
                error: "not checked yet")
        }
    }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.refresh()
                try await Task.sleep(for: self.refreshInterval)
            }
        }
    }

    /// Checks every pool at once (each bounded by `checkTimeout`) and caches the results.
    /// A shared path whose last check is still stuck in the kernel is not checked
    /// again (that would strand one more thread each time); it stays timed out.
    func refresh() async {
        await withTaskGroup(of: Void.self) { group in
            for pool in pools {
                let started = state.withLock { !$0.blocked.contains(pool.name) && $0.checking.insert(pool.name).inserted }
                guard started else { continue }
                group.addTask {
                    let status = await self.check(pool)
                    let previous = self.state.withLock { state in
                        state.checking.remove(pool.name)
                        return state.statuses.updateValue(status, forKey: pool.name)
                    }
                    if previous?.reachable != status.reachable || previous?.error != status.error {
                        self.logger.info("storage pool status", metadata: [
                            "pool": "\(pool.name)", "reachable": "\(status.reachable)", "error": "\(status.error ?? "")",
                        ])
                    }
                }
            }
        }
    }

    /// One pool's status, within `checkTimeout` (plus scheduling slack).
    func check(_ pool: StoragePoolConfig) async -> StoragePoolStatus {
        let timeout = checkTimeout
        var status = StoragePoolStatus(name: pool.name, kind: pool.kind, location: Self.location(of: pool), reachable: false)
        do {
            let (total, free): (UInt64, UInt64)
            switch try PoolLocation(pool) {
            case .nfs(let url):
                // A fresh mount each time: it is what a new QEMU would do, and it recovers by itself.
                let client = try await NFSClient.mount(url, timeout: timeout)
                let space = try await client.fileSystemSpace(url.path)
                await client.close()
                (total, free) = (space.totalBytes, space.availableBytes)
            case .sharedPath(let path):
                (total, free) = try await BlockingCall.run(timeout: timeout) { [state] in
                    state.withLock { _ = $0.blocked.insert(pool.name) }
                    defer { state.withLock { _ = $0.blocked.remove(pool.name) } }
                    return try Self.localSpace(path, pool: pool.name)
                }
            }
            status.reachable = true
            status.totalBytes = total
            status.freeBytes = free
        } catch is BlockingCall.TimedOut {
            status.error = "timed out after \(timeout) (the file system does not answer)"
        } catch {
            status.error = "\(error)"
        }
        return status
    }

    // MARK: Shared-storage tokens

    func writeToken(pool name: String) async throws -> StorageToken {
        try await tokens.write(pool: name, at: location(named: name))
    }

    /// True when this host reads back exactly the token another host wrote.
    func readToken(pool name: String, token: StorageToken) async throws -> Bool {
        try await tokens.read(pool: name, at: location(named: name), token: token)
    }

    func removeToken(pool name: String, token: StorageToken) async throws {
        try await tokens.remove(pool: name, at: location(named: name), token: token)
    }

    private func location(named name: String) throws -> PoolLocation {
        guard let pool = pools.first(where: { $0.name == name }) else { throw StorageError.unknownPool(name) }
        return try PoolLocation(pool)
    }

    private static func location(of pool: StoragePoolConfig) -> String {
        (try? PoolLocation(pool).description) ?? pool.url ?? pool.path ?? ""
    }

    private static func localSpace(_ path: String, pool: String) throws -> (UInt64, UInt64) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StorageError.io(pool: pool, operation: "statvfs", reason: "\(path) is not a directory")
        }
        var info = statvfs()
        guard statvfs(path, &info) == 0 else {
            throw StorageError.io(pool: pool, operation: "statvfs \(path)", reason: String(cString: strerror(errno)))
        }
        let unit = UInt64(info.f_frsize != 0 ? info.f_frsize : info.f_bsize)
        return (UInt64(info.f_blocks) * unit, UInt64(info.f_bavail) * unit)
    }
}

/// The cache and the set of checks under way, behind a lock, so that the
/// synchronous `statuses()` can read them from any thread.
private final class LockedState: @unchecked Sendable {  // `value` is guarded by `lock`
    struct Value {
        var statuses: [String: StoragePoolStatus] = [:]
        var checking: Set<String> = []
        /// Shared paths whose statvfs thread has not returned yet.
        var blocked: Set<String> = []
    }

    private let lock = NSLock()
    private var value = Value()

    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
