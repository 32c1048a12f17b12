import Shared

/// Opens agent connections over SSH, as the config says for each host:
/// a direct-streamlocal channel to the agent's socket, or an exec channel
/// running `ferry-agent rpc --stdio` where sshd forbids forwarding.
struct AgentDialer: Sendable {
    let config: CoordConfig

    var requestTimeout: Double { config.requestTimeoutSeconds ?? 30 }

    func endpoint(for host: CoordConfig.Host) -> SSHEndpoint {
        SSHEndpoint(name: host.name, address: host.address, port: host.port ?? 22, user: host.user ?? config.user ?? "root")
    }

    func options(for host: CoordConfig.Host) -> SSHOptions {
        SSHOptions(
            knownHostsPath: config.knownHosts, hostKeyPolicy: config.hostKeyPolicy ?? .strict,
            identityFile: host.identityFile ?? config.identityFile, connectTimeout: config.connectTimeoutSeconds ?? 5)
    }

    func connect(_ host: CoordConfig.Host) async throws -> AgentLink {
        let session: SSHSession
        do {
            session = try await SSHSession.connect(to: endpoint(for: host), options: options(for: host))
        } catch {
            throw HostUnreachable(host: host.name, stage: .ssh, underlying: error)
        }
        do {
            let socket = host.agentSocket ?? CoordConfig.defaultAgentSocket
            let channel: SSHChannel
            switch host.transport ?? .streamlocal {
            case .streamlocal:
                channel = try await session.openStreamLocal(socketPath: socket)
            case .exec:
                let command = host.agentCommand ?? CoordConfig.defaultAgentCommand
                channel = try await session.openExec("\(ShellQuote.quote(command)) rpc --stdio --socket \(ShellQuote.quote(socket))")
            }
            let client = AgentClient(stream: channel, fence: config.fence)
            do {
                try await client.connect(client: "coord \(FerryVersion.current)", timeout: requestTimeout)
            } catch {
                await client.close()
                throw HostUnreachable(host: host.name, stage: .handshake, underlying: error)
            }
            return AgentLink(host: host.name, session: session, client: client)
        } catch let error as HostUnreachable {
            await session.close()
            throw error
        } catch {
            await session.close()
            throw HostUnreachable(host: host.name, stage: .channel, underlying: error)
        }
    }
}
