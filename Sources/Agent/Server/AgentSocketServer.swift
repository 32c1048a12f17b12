import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Shared

/// Listens on the agent's Unix socket. Only root can open it: the agent
/// starts and stops VMs, so the socket is as powerful as root. It opens no
/// TCP port; remote callers arrive through sshd.
struct AgentSocketServer: Service {
    let path: String
    let router: RequestRouter
    let events: EventBus
    let logger: Logger

    enum ServerError: Error, CustomStringConvertible {
        case alreadyServed(String)
        case cannotPrepare(String, String)

        var description: String {
            switch self {
            case .alreadyServed(let path): "another agent is already listening on \(path)"
            case .cannotPrepare(let path, let reason): "cannot prepare socket \(path): \(reason)"
            }
        }
    }

    func run() async throws {
        try prepare()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        chmod(path, 0o600)
        logger.info("listening", metadata: ["socket": "\(path)"])

        // Shutdown closes the listening channel, so the accept loop ends on
        // its own and every accepted client is served and closed. Cancelling
        // the loop instead would drop clients NIO had already accepted.
        let acceptLoop = Task {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { clients in
                    for try await client in clients {
                        group.addTask { await serve(client) }
                    }
                }
                group.cancelAll()
            }
        }
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await acceptLoop.value
            } onGracefulShutdown: {
                server.channel.close(promise: nil)
            }
        } onCancel: {
            server.channel.close(promise: nil)
        }
        unlink(path)
        logger.info("socket closed", metadata: ["socket": "\(path)"])
    }

    /// Makes the socket's directory root-only and refuses to take over a
    /// socket another live agent is serving.
    private func prepare() throws {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ServerError.cannotPrepare(path, error.localizedDescription)
        }
        if UnixSocket.isServed(path) { throw ServerError.alreadyServed(path) }
    }

    private func serve(_ client: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        try? await client.executeThenClose { inbound, outbound in
            let connection = AgentConnection(events: events) { line in
                try? await outbound.write(ByteBuffer(bytes: line))
            }
            // Requests run concurrently; replies carry their ids.
            await withDiscardingTaskGroup { requests in
                var framer = LineFramer()
                do {
                    for try await buffer in inbound {
                        for frame in framer.push(buffer.readableBytesView) {
                            guard await connection.begin() else {
                                await connection.reply(RequestRouter.errorLine(
                                    id: nil, AgentError(.unavailable, "more than \(AgentConnection.maxInFlight) requests in flight")))
                                continue
                            }
                            requests.addTask {
                                await connection.reply(await router.reply(to: frame, on: connection))
                                await connection.end()
                            }
                        }
                    }
                } catch {
                    logger.debug("client connection ended", metadata: ["error": "\(error)"])
                }
            }
            await connection.close()
        }
    }
}
