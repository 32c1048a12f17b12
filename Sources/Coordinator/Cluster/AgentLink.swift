import Shared

/// An open, greeted connection to one host's agent: the SSH session and the
/// protocol client running over one of its channels.
struct AgentLink: Sendable {
    let host: String
    let session: SSHSession
    let client: AgentClient

    func close() async {
        await client.close()
        await session.close()
    }
}

/// Why a host could not be reached, with the stage it failed at, so
/// `coord hosts` can say "down: <reason>".
struct HostUnreachable: Error, CustomStringConvertible {
    enum Stage: String, Sendable {
        case ssh, channel, handshake
    }

    var host: String
    var stage: Stage
    var underlying: any Error

    var description: String {
        switch stage {
        case .ssh: "\(underlying)"
        case .channel:
            "SSH works but the agent cannot be reached: \(underlying) (is ferry-agent serve running there? "
                + "Stream forwarding needs sshd's AllowStreamLocalForwarding and AllowTcpForwarding at least 'local'; "
                + "otherwise set the host's transport to exec)"
        case .handshake: "the agent did not complete the handshake: \(underlying)"
        }
    }
}
