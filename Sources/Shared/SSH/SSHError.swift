/// Why an SSH operation failed. Every case names the cluster host, so a message
/// read in a log or on a terminal says where the problem is.
public enum SSHError: Error, CustomStringConvertible, Sendable, Equatable {
    case connectFailed(host: String, address: String, reason: String)
    /// `stage`: "tcp-connect", "ssh-banner", "key-exchange", "authentication", "channel-open".
    case timedOut(host: String, stage: String, seconds: Double)
    case unknownHostKey(host: String, address: String, port: Int, keyType: String, fingerprint: String, knownHosts: String)
    case changedHostKey(host: String, address: String, port: Int, keyType: String, fingerprint: String, knownHosts: String)
    case hostKeyCheckFailed(host: String, knownHosts: String, reason: String)
    case authenticationFailed(host: String, user: String, reason: String)
    case channelOpenFailed(host: String, target: String, reason: String)
    case channelClosed(host: String, target: String)
    case disconnected(host: String, reason: String)
    /// The remote command ended without an exit status (killed by a signal, or the channel was closed first).
    case noExitStatus(host: String, command: String)

    public var description: String {
        switch self {
        case .connectFailed(let host, let address, let reason):
            return "ssh to \(host) (\(address)): cannot connect: \(reason)"
        case .timedOut(let host, let stage, let seconds):
            return "ssh to \(host): no answer within \(Self.format(seconds)) s (\(stage))"
        case .unknownHostKey(let host, let address, let port, let keyType, let fingerprint, let knownHosts):
            let name = port == 22 ? address : "[\(address)]:\(port)"
            return "ssh to \(host): host key of \(name) is not in \(knownHosts) (\(keyType) \(fingerprint)); "
                + "check the fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_\(Self.shortType(keyType))_key.pub), then add it: "
                + "ssh-keyscan -p \(port) -t \(Self.shortType(keyType)) \(address) >> \(knownHosts); "
                + "or set hostKeyPolicy accept-new to trust keys on first use"
        case .changedHostKey(let host, let address, let port, let keyType, let fingerprint, let knownHosts):
            let name = port == 22 ? address : "[\(address)]:\(port)"
            return "ssh to \(host): HOST KEY CHANGED for \(name): the server offers \(keyType) \(fingerprint), "
                + "which does not match \(knownHosts); someone may be intercepting the connection. "
                + "If the host was reinstalled, verify the new fingerprint on the host, then run "
                + "ssh-keygen -R '\(name)' -f \(knownHosts) and add the new key"
        case .hostKeyCheckFailed(let host, let knownHosts, let reason):
            return "ssh to \(host): cannot check the host key against \(knownHosts): \(reason)"
        case .authenticationFailed(let host, let user, let reason):
            return "ssh to \(host): authentication as \(user) failed: \(reason)"
        case .channelOpenFailed(let host, let target, let reason):
            return "ssh to \(host): cannot open \(target): \(reason)"
        case .channelClosed(let host, let target):
            return "ssh to \(host): \(target) is closed"
        case .disconnected(let host, let reason):
            return "ssh to \(host): connection lost: \(reason)"
        case .noExitStatus(let host, let command):
            return "ssh to \(host): `\(command)` ended without an exit status (killed by a signal?)"
        }
    }

    /// "ssh-ed25519" -> "ed25519", "ecdsa-sha2-nistp256" -> "ecdsa": the names ssh-keyscan -t takes.
    static func shortType(_ keyType: String) -> String {
        if keyType.hasPrefix("ecdsa") { return "ecdsa" }
        if keyType.hasPrefix("ssh-") { return String(keyType.dropFirst(4)) }
        return keyType
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
