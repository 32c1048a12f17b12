import Foundation

/// Copies bytes both ways between a pair of descriptors until either side
/// ends: the `ferry-agent rpc --stdio` bridge.
public enum FileDescriptorBridge {
    public static func pump(from input: Int32, to socket: Int32, andBack output: Int32) {
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            copy(from: input, to: socket)
            // Our side is finished sending; let the agent finish its replies.
            shutdown(socket, Int32(SHUT_WR))
        }
        Thread.detachNewThread {
            copy(from: socket, to: output)
            done.signal()
        }
        done.wait()
    }

    private static func copy(from source: Int32, to sink: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            var offset = 0
            while offset < n {
                let w = buffer[offset..<n].withUnsafeBytes { write(sink, $0.baseAddress, $0.count) }
                if w < 0 && errno == EINTR { continue }
                guard w > 0 else { return }
                offset += w
            }
        }
    }
}
