/// Splits a byte stream into newline-ended frames, with a size limit.
///
/// A line longer than `maxLineBytes` is reported once as `.oversized` and the
/// rest of it is skipped up to its newline, so one bad message costs one error
/// reply and never unbounded memory.
public struct LineFramer: Sendable {
    public enum Frame: Equatable, Sendable {
        case line([UInt8])
        case oversized
    }

    public let maxLineBytes: Int
    private var buffer: [UInt8] = []
    private var scanFrom = 0
    private var skippingOversized = false

    public init(maxLineBytes: Int = AgentProtocol.maxMessageBytes) {
        self.maxLineBytes = maxLineBytes
    }

    /// Bytes buffered towards the next line.
    public var pendingBytes: Int { buffer.count }

    /// Appends bytes and returns every frame they complete, in order.
    public mutating func push<Bytes: Sequence>(_ bytes: Bytes) -> [Frame] where Bytes.Element == UInt8 {
        buffer.append(contentsOf: bytes)
        var frames: [Frame] = []
        while true {
            guard let newline = buffer[scanFrom...].firstIndex(of: UInt8(ascii: "\n")) else {
                scanFrom = buffer.count
                if !skippingOversized && buffer.count > maxLineBytes {
                    frames.append(.oversized)
                    skippingOversized = true
                }
                if skippingOversized {
                    buffer.removeAll(keepingCapacity: true)
                    scanFrom = 0
                }
                return frames
            }
            let line = Array(buffer[..<newline])
            buffer.removeSubrange(...newline)
            scanFrom = 0
            if skippingOversized {
                skippingOversized = false
            } else if line.count > maxLineBytes {
                frames.append(.oversized)
            } else if !line.isEmpty {
                frames.append(.line(line))
            }
        }
    }
}
