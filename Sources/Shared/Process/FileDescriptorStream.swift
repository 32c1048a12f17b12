import Foundation

/// A `ByteStream` over a connected socket descriptor (a local agent socket,
/// mostly for local tools and tests). Blocking reads and writes run on their
/// own serial queues so they never hold a cooperative thread.
public final class FileDescriptorStream: ByteStream, @unchecked Sendable {
    // The descriptor is only used on `readQueue`/`writeQueue`, and closed on
    // `readQueue` after `shutdown` has woken any blocked read.
    private let fd: Int32
    private let readQueue = DispatchQueue(label: "ferry.fdstream.read")
    private let writeQueue = DispatchQueue(label: "ferry.fdstream.write")
    private let closed = ManagedFlag()

    public init(fd: Int32) { self.fd = fd }

    public convenience init(socketPath: String) throws {
        self.init(fd: try UnixSocket.connect(socketPath))
    }

    public func write(_ bytes: [UInt8]) async throws {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            writeQueue.async { [fd] in
                var offset = 0
                while offset < bytes.count {
                    let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else {
                        done.resume(throwing: POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO))
                        return
                    }
                    offset += n
                }
                done.resume()
            }
        }
    }

    public func read() async throws -> [UInt8]? {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<[UInt8]?, any Error>) in
            readQueue.async { [fd, closed] in
                guard !closed.isSet else { return done.resume(returning: nil) }
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    if n < 0 { return done.resume(throwing: POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)) }
                    return done.resume(returning: n == 0 ? nil : Array(buffer[..<n]))
                }
            }
        }
    }

    public func close() async {
        guard closed.set() else { return }
        Glibc.shutdown(fd, Int32(SHUT_RDWR))
        readQueue.async { [fd] in
            self.writeQueue.sync { _ = Glibc.close(fd) }
        }
    }
}

/// A flag that flips once, safely from any thread.
final class ManagedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    var isSet: Bool { lock.withLock { value } }

    /// Sets the flag; true only for the caller that flipped it.
    func set() -> Bool {
        lock.withLock {
            defer { value = true }
            return !value
        }
    }
}
