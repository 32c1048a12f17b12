/// A bidirectional byte pipe: an SSH channel, a Unix socket, a process's
/// stdin/stdout. The agent protocol runs over any of them.
public protocol ByteStream: Sendable {
    /// Writes all of `bytes`, or throws.
    func write(_ bytes: [UInt8]) async throws
    /// The next chunk of bytes; nil once the other side has closed.
    func read() async throws -> [UInt8]?
    /// Closes both directions. Safe to call more than once.
    func close() async
}
