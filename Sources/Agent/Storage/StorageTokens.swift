import Foundation
import Shared

/// Writes, reads and removes tokens in a pool's `.ferry-tokens/` directory:
/// through libnfs for nfs pools, as plain files for shared paths.
struct StorageTokens: Sendable {
    static let directory = ".ferry-tokens"
    var timeout: Duration
    /// Written into tokens, for whoever finds a stale one.
    var writer: String

    func write(pool: String, at location: PoolLocation) async throws -> StorageToken {
        let token = StorageToken.random(writer: writer)
        switch location {
        case .nfs(let url):
            try await withNFS(pool, url, "write token") { client in
                try await client.makeDirectory(Self.nfsPath(url, nil))
                try await client.write(Self.nfsPath(url, token.name), Array(token.content.utf8), exclusive: true)
            }
        case .sharedPath(let root):
            try await blocking(pool, "write token") {
                let directory = "\(root)/\(Self.directory)"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let url = URL(fileURLWithPath: "\(directory)/\(token.name)")
                try Data(token.content.utf8).write(to: url, options: .withoutOverwriting)
                // Make it visible to other hosts before anyone is told to look.
                let fd = open(url.path, O_RDONLY)
                if fd >= 0 { fsync(fd); close(fd) }
            }
        }
        return token
    }

    /// True when the token exists here with the same content; false when it is missing or differs.
    func read(pool: String, at location: PoolLocation, token: StorageToken) async throws -> Bool {
        guard StorageToken.isValidName(token.name) else { throw StorageError.invalidToken(token.name) }
        let expected = Array(token.content.utf8)
        switch location {
        case .nfs(let url):
            return try await withNFS(pool, url, "read token") { client in
                do {
                    return try await client.read(Self.nfsPath(url, token.name), maxBytes: 4096) == expected
                } catch let error as NFSError where error.kind == .notFound {
                    return false
                }
            }
        case .sharedPath(let root):
            return try await blocking(pool, "read token") {
                let path = "\(root)/\(Self.directory)/\(token.name)"
                guard let data = FileManager.default.contents(atPath: path) else { return false }
                return Array(data) == expected
            }
        }
    }

    /// Removes the token; one already gone is fine.
    func remove(pool: String, at location: PoolLocation, token: StorageToken) async throws {
        guard StorageToken.isValidName(token.name) else { throw StorageError.invalidToken(token.name) }
        switch location {
        case .nfs(let url):
            try await withNFS(pool, url, "remove token") { client in
                do {
                    try await client.unlink(Self.nfsPath(url, token.name))
                } catch let error as NFSError where error.kind == .notFound {}
            }
        case .sharedPath(let root):
            try await blocking(pool, "remove token") {
                let path = "\(root)/\(Self.directory)/\(token.name)"
                guard unlink(path) == 0 || errno == ENOENT else {
                    throw StorageError.io(pool: pool, operation: "remove token", reason: String(cString: strerror(errno)))
                }
            }
        }
    }

    /// `.ferry-tokens` (or a token in it) under the pool's path inside its export.
    private static func nfsPath(_ url: NFSURL, _ name: String?) -> String {
        let base = url.path == "/" ? "" : url.path
        return "\(base)/\(directory)" + (name.map { "/\($0)" } ?? "")
    }

    private func withNFS<T: Sendable>(
        _ pool: String, _ url: NFSURL, _ operation: String, _ body: (NFSClient) async throws -> T
    ) async throws -> T {
        try await withClosing(try await NFSClient.mount(url, timeout: timeout), close: { await $0.close() }, body)
    }

    private func blocking<T: Sendable>(_ pool: String, _ operation: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await BlockingCall.run(timeout: timeout, body)
        } catch is BlockingCall.TimedOut {
            throw StorageError.timedOut(pool: pool, operation: operation, seconds: Double(timeout.components.seconds))
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError.io(pool: pool, operation: operation, reason: "\(error)")
        }
    }
}
