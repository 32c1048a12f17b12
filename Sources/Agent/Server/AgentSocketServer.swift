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
        let router = self.router, events = self.events
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AgentConnectionHandler(router: router, events: events))
                }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true)
            .get()
        chmod(path, 0o600)
        logger.info("listening", metadata: ["socket": "\(path)"])

        // Shutdown (graceful or by cancellation) closes the listening socket;
        // open client connections end with the process or their client.
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await server.closeFuture.get()
            } onGracefulShutdown: {
                server.close(promise: nil)
            }
        } onCancel: {
            server.close(promise: nil)
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
}
