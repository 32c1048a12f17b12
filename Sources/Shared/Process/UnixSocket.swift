import Foundation

/// Blocking helpers for local Unix sockets, for the few places that need one
/// file descriptor and no event loop (the stdio bridge, liveness checks).
public enum UnixSocket {
    public enum SocketError: Error, CustomStringConvertible {
        case pathTooLong(String)
        case connectFailed(path: String, errno: Int32)

        public var description: String {
            switch self {
            case .pathTooLong(let path): "socket path too long: \(path)"
            case .connectFailed(let path, let code): "cannot connect to \(path): \(String(cString: strerror(code)))"
            }
        }
    }

    /// A connected stream socket's descriptor; the caller closes it.
    public static func connect(_ path: String) throws -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else { throw SocketError.pathTooLong(path) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError.connectFailed(path: path, errno: errno) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            throw SocketError.connectFailed(path: path, errno: code)
        }
        return fd
    }

    /// Whether something accepts connections on `path` right now.
    public static func isServed(_ path: String) -> Bool {
        guard let fd = try? connect(path) else { return false }
        Glibc.close(fd)
        return true
    }
}
