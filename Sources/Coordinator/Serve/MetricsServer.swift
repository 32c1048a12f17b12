import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// Serves `GET /metrics` (Prometheus text format) over plain HTTP/1.1 on a
/// local address. One response per connection, then it closes: scrapers
/// open a connection per scrape anyway, and it keeps the server trivial.
struct MetricsServer: Service {
    let address: ListenAddress
    let metrics: ServeMetrics
    let logger: Logger

    func run() async throws {
        let metrics = self.metrics
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 16)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(metrics: metrics))
                }
            }
            .bind(host: address.host, port: address.port)
            .get()
        let actual = ListenAddress(host: address.host, port: server.localAddress?.port ?? address.port)
        // Logged at notice: with port 0 this is how the operator (or a test) learns the port.
        logger.notice("metrics on http://\(actual)/metrics")
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await server.closeFuture.get()
            } onGracefulShutdown: {
                server.close(promise: nil)
            }
        } onCancel: {
            server.close(promise: nil)
        }
    }
}

/// Answers one request: /metrics, a pointer to it at /, 404 elsewhere.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: ServeMetrics
    private var head: HTTPRequestHead?

    init(metrics: ServeMetrics) { self.metrics = metrics }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return context.close(promise: nil) }
            respond(to: head, context: context)
            self.head = nil
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let (status, type, body): (HTTPResponseStatus, String, String) = switch (head.method, path) {
        case (.GET, "/metrics"), (.HEAD, "/metrics"): (.ok, "text/plain; version=0.0.4; charset=utf-8", metrics.render())
        case (.GET, "/"), (.HEAD, "/"): (.ok, "text/plain; charset=utf-8", "coord serve: metrics at /metrics\n")
        case (.GET, _), (.HEAD, _): (.notFound, "text/plain; charset=utf-8", "not found; try /metrics\n")
        default: (.methodNotAllowed, "text/plain; charset=utf-8", "only GET and HEAD\n")
        }
        var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: type)
        headers.add(name: "Content-Length", value: "\(buffer.readableBytes)")
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil) }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
