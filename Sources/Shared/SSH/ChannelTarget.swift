/// What a channel is connected to on the remote host.
public enum ChannelTarget: Sendable, Hashable, CustomStringConvertible {
    /// A Unix socket, through OpenSSH's direct-streamlocal@openssh.com.
    case unixSocket(path: String)
    /// A command run by the remote user's shell.
    case exec(command: String)

    public var description: String {
        switch self {
        case .unixSocket(let path): "unix socket \(path)"
        case .exec(let command): "command `\(command)`"
        }
    }
}
