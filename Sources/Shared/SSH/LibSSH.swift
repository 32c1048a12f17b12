import CLibSSH
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Process-wide libssh facts. Nothing here changes after it is first computed:
/// `static let` runs its initialiser exactly once, thread-safely.
enum LibSSH {
    /// `ssh_init` must run once before any session is created.
    static let isInitialised: Bool = ssh_init() == SSH_OK

    /// `ssh_send_keepalive` is exported by libssh but declared only in server.h,
    /// which the CLibSSH module map does not include; look the symbol up once.
    static let keepalive: KeepaliveFunction? = {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "ssh_send_keepalive") else { return nil }
        return KeepaliveFunction(call: unsafeBitCast(symbol, to: KeepaliveFunction.Signature.self))
    }()

    struct KeepaliveFunction: @unchecked Sendable {  // a C function pointer: immutable, callable from any thread
        typealias Signature = @convention(c) (ssh_session?) -> Int32
        let call: Signature
    }

    /// libssh's last error for a session (or channel's session).
    static func lastError(_ session: ssh_session) -> String {
        guard let text = ssh_get_error(UnsafeMutableRawPointer(session)) else { return "unknown libssh error" }
        let message = String(cString: text)
        return message.isEmpty ? "unknown libssh error" : message
    }
}
