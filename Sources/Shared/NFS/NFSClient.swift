import CLibNFS
import Foundation

/// A mounted NFS export, through libnfs, for async code.
///
/// The libnfs context lives on a serial queue of its own: libnfs is not
/// thread-safe, and its calls block (in poll) for up to `timeout`, which
/// must not happen on the cooperative pool. Every call has that deadline, so
/// a dead server costs a caller at most `timeout`. After a timeout or a lost
/// connection the client is unusable (`.notConnected`); mount a new one.
public final class NFSClient: Sendable {
    public let url: NFSURL
    public let timeout: Duration
    private let queue: DispatchQueue
    private let confined: Confined

    private init(url: NFSURL, timeout: Duration, context: NFSContext) {
        self.url = url
        self.timeout = timeout
        self.queue = DispatchQueue(label: "nfs \(url.server):\(url.export)")
        self.confined = Confined(context)
    }

    /// Mounts the URL's export; `timeout` bounds the mount and every later call.
    public static func mount(_ url: NFSURL, timeout: Duration = .seconds(5)) async throws -> NFSClient {
        let client = try NFSClient(url: url, timeout: timeout, context: NFSContext(server: url.server, export: url.export))
        try await client.run { context, deadline in
            try context.configure(from: url, timeout: timeout)
            try context.perform("mount", path: nil, deadline: deadline) { nfs, callback, completion in
                nfs_mount_async(nfs, url.server, url.export, callback, completion)
            }
        }
        return client
    }

    /// Ends the client; later calls fail with `.notConnected`.
    public func close() async {
        try? await run { context, _ in context.destroy() }
    }

    public func stat(_ path: String) async throws -> NFSFileStatus {
        try await run { context, deadline in
            var status = NFSFileStatus(size: 0, modified: Date(timeIntervalSince1970: 0), mode: 0)
            try context.perform("stat", path: path, deadline: deadline, onSuccess: { _, data in
                guard let raw = data?.assumingMemoryBound(to: nfs_stat_64.self).pointee else { return }
                status = NFSFileStatus(raw)
            }) { nfs, callback, completion in nfs_stat64_async(nfs, path, callback, completion) }
            return status
        }
    }

    /// False when the path does not exist; other failures throw.
    public func exists(_ path: String) async throws -> Bool {
        do {
            _ = try await stat(path)
            return true
        } catch let error as NFSError where error.kind == .notFound {
            return false
        }
    }

    /// Size and free space of the file system holding `path`.
    public func fileSystemSpace(_ path: String = "/") async throws -> NFSFileSystemSpace {
        try await run { context, deadline in
            var space = NFSFileSystemSpace(totalBytes: 0, freeBytes: 0, availableBytes: 0)
            try context.perform("statvfs", path: path, deadline: deadline, onSuccess: { _, data in
                guard let raw = data?.assumingMemoryBound(to: nfs_statvfs_64.self).pointee else { return }
                space = NFSFileSystemSpace(raw)
            }) { nfs, callback, completion in nfs_statvfs64_async(nfs, path, callback, completion) }
            return space
        }
    }

    /// Creates (or with `exclusive: false`, replaces) a file with these bytes, synced to the server.
    public func write(_ path: String, _ bytes: [UInt8], exclusive: Bool = false, mode: Int32 = 0o644) async throws {
        try await run { context, deadline in
            let flags = O_WRONLY | O_CREAT | (exclusive ? O_EXCL : O_TRUNC)
            let handle = try Self.handle(context, "create", path, deadline) { nfs, callback, completion in
                nfs_create_async(nfs, path, flags, mode, callback, completion)
            }
            defer { Self.close(context, handle, path, deadline) }
            try bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = try context.perform("write", path: path, deadline: deadline) { nfs, callback, completion in
                        nfs_pwrite_async(
                            nfs, handle, UInt64(offset), UInt64(buffer.count - offset), buffer.baseAddress! + offset,
                            callback, completion)
                    }
                    guard written > 0 else {
                        throw context.error(operation: "write", path: path, status: -EIO, message: "server wrote nothing")
                    }
                    offset += Int(written)
                }
            }
            try context.perform("fsync", path: path, deadline: deadline) { nfs, callback, completion in
                nfs_fsync_async(nfs, handle, callback, completion)
            }
        }
    }

    /// The file's bytes; refuses files larger than `maxBytes` (this is for small files).
    public func read(_ path: String, maxBytes: Int = 1 << 20) async throws -> [UInt8] {
        try await run { context, deadline in
            let handle = try Self.handle(context, "open", path, deadline) { nfs, callback, completion in
                nfs_open_async(nfs, path, O_RDONLY, callback, completion)
            }
            defer { Self.close(context, handle, path, deadline) }
            var bytes: [UInt8] = []
            while true {
                let chunk = min(64 << 10, maxBytes + 1 - bytes.count)
                let count = try context.perform("read", path: path, deadline: deadline, onSuccess: { count, data in
                    guard let data, count > 0 else { return }
                    bytes.append(contentsOf: UnsafeRawBufferPointer(start: data, count: Int(count)))
                }) { nfs, callback, completion in
                    nfs_pread_async(nfs, handle, UInt64(bytes.count), UInt64(chunk), callback, completion)
                }
                if bytes.count > maxBytes {
                    throw context.error(operation: "read", path: path, status: -EFBIG, message: "file is larger than \(maxBytes) bytes")
                }
                if count == 0 { return bytes }
            }
        }
    }

    public func unlink(_ path: String) async throws {
        try await run { context, deadline in
            try context.perform("unlink", path: path, deadline: deadline) { nfs, callback, completion in
                nfs_unlink_async(nfs, path, callback, completion)
            }
        }
    }

    /// Creates a directory; an existing one is fine.
    public func makeDirectory(_ path: String) async throws {
        do {
            try await run { context, deadline in
                try context.perform("mkdir", path: path, deadline: deadline) { nfs, callback, completion in
                    nfs_mkdir_async(nfs, path, callback, completion)
                }
            }
        } catch let error as NFSError where error.kind == .alreadyExists {}
    }

    /// Runs `body` on the client's queue with a fresh deadline.
    @discardableResult
    private func run<T: Sendable>(_ body: @escaping @Sendable (NFSContext, ContinuousClock.Instant) throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { [confined] in
                continuation.resume(with: Result { try body(confined.context, deadline) })
            }
        }
    }

    private static func handle(
        _ context: NFSContext, _ operation: String, _ path: String, _ deadline: ContinuousClock.Instant,
        start: (OpaquePointer, nfs_cb, UnsafeMutableRawPointer) -> Int32
    ) throws -> OpaquePointer {
        var handle: OpaquePointer?
        try context.perform(operation, path: path, deadline: deadline, onSuccess: { _, data in
            handle = data.map { OpaquePointer($0) }
        }, start: start)
        guard let handle else {
            throw context.error(operation: operation, path: path, status: -EIO, message: "libnfs returned no file handle")
        }
        return handle
    }

    private static func close(_ context: NFSContext, _ handle: OpaquePointer, _ path: String, _ deadline: ContinuousClock.Instant) {
        _ = try? context.perform("close", path: path, deadline: deadline) { nfs, callback, completion in
            nfs_close_async(nfs, handle, callback, completion)
        }
    }
}

/// Holds the context for the queue; only code running on that queue touches it.
private final class Confined: @unchecked Sendable {
    let context: NFSContext
    init(_ context: NFSContext) { self.context = context }
}

public struct NFSFileStatus: Sendable, Equatable {
    public var size: UInt64
    public var modified: Date
    public var mode: UInt32

    public var isDirectory: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFDIR) }

    init(size: UInt64, modified: Date, mode: UInt32) {
        self.size = size
        self.modified = modified
        self.mode = mode
    }

    init(_ raw: nfs_stat_64) {
        size = raw.nfs_size
        modified = Date(timeIntervalSince1970: Double(raw.nfs_mtime) + Double(raw.nfs_mtime_nsec) / 1e9)
        mode = UInt32(truncatingIfNeeded: raw.nfs_mode)
    }
}

public struct NFSFileSystemSpace: Sendable, Equatable {
    public var totalBytes: UInt64
    /// Free blocks, including those only root may use.
    public var freeBytes: UInt64
    /// What an unprivileged writer can still use.
    public var availableBytes: UInt64

    init(totalBytes: UInt64, freeBytes: UInt64, availableBytes: UInt64) {
        self.totalBytes = totalBytes
        self.freeBytes = freeBytes
        self.availableBytes = availableBytes
    }

    init(_ raw: nfs_statvfs_64) {
        let unit = raw.f_frsize != 0 ? raw.f_frsize : raw.f_bsize
        totalBytes = raw.f_blocks &* unit
        freeBytes = raw.f_bfree &* unit
        availableBytes = raw.f_bavail &* unit
    }
}
