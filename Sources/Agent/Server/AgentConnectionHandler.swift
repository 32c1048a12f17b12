import NIOCore
import Shared

/// Frames one client's bytes into requests and runs each through the router
/// as its own task; replies go back in completion order, matched by id.
final class AgentConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let router: RequestRouter
    private let events: EventBus
    private var framer = LineFramer()
    private var connection: AgentConnection?

    init(router: RequestRouter, events: EventBus) {
        self.router = router
        self.events = events
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        connection = AgentConnection(events: events) { line in
            // Thread-safe; a write to a closed channel just fails.
            channel.writeAndFlush(ByteBuffer(bytes: line), promise: nil)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard let connection else { return }
        let router = self.router
        for frame in framer.push(buffer.readableBytesView) {
            Task {
                guard await connection.begin() else {
                    await connection.reply(RequestRouter.errorLine(
                        id: nil, AgentError(.unavailable, "more than \(AgentConnection.maxInFlight) requests in flight")))
                    return
                }
                await connection.reply(await router.reply(to: frame, on: connection))
                await connection.end()
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let connection { Task { await connection.close() } }
        connection = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
