import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// A client of an etcd v3 cluster through its JSON gateway (etcd serves it
/// on the client port: POST /v3/kv/range and so on).
///
/// Requests go to the endpoint that last answered; when it cannot be reached
/// the next ones are tried in turn. Every request asks for a member that
/// follows a leader (gRPC metadata `hasleader`, passed on by the gateway), so
/// a member cut off from the majority says "no leader" at once instead of
/// hanging, and the next member is tried. Call `shutdown()` when done.
final class EtcdClient: Sendable {
    let endpoints: [String]
    let requestTimeout: Duration
    var http: HTTPClient { Self.sharedHTTP }
    /// Index into `endpoints` of the member that last answered.
    private let preferred = Mutex(0)

    /// `endpoints` like "http://198.51.100.21:2379". `requestTimeout` bounds
    /// each attempt at one member: connecting, sending and reading the answer.
    init(endpoints: [String], requestTimeout: Duration = .seconds(3)) {
        self.endpoints = endpoints.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.requestTimeout = requestTimeout
    }

    /// One HTTP client for the whole process, never shut down: AsyncHTTPClient
    /// traps when a client is released unshut, and every short-lived `coord`
    /// command would have to remember to shut its own down.
    static let sharedHTTP: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        // Connecting takes well under a request's time on a LAN, so a member
        // that cannot be reached is told apart from one that took the request
        // and did not answer (each request's own deadline is requestTimeout,
        // at least a second). No read timeout: watches stay quiet as long as
        // nothing changes.
        configuration.timeout = .init(connect: .milliseconds(900), read: nil)
        // A refused connection fails the request at once and the next member
        // is tried, rather than the client retrying the same one until the
        // connect timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        // Each open watch holds a connection for as long as it runs; with
        // the default of 8 per host, 8 watches would queue every other request.
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 256
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// The member that last answered (the first before any did).
    var currentEndpoint: String {
        let index = preferred.withLock { $0 }
        return endpoints.indices.contains(index) ? endpoints[index] : ""
    }

    /// Remembers the member that answered, so the next request goes there first.
    func answered(_ index: Int) {
        preferred.withLock { $0 = index }
    }

    /// The members in the order to try them: the one that last answered first.
    var attemptOrder: [Int] {
        let start = preferred.withLock { $0 }
        return endpoints.indices.map { (start + $0) % endpoints.count }
    }

    /// Nothing to release: the HTTP client lives as long as the process
    /// (`sharedHTTP`). Kept so that callers say when they are done.
    func shutdown() async {}

    /// Whether a request may be sent again to another member after it was
    /// sent to one that then did not answer.
    enum Repeat {
        /// Reads, puts, deletes, lease keep-alives: doing them twice is harmless.
        case safe
        /// Transactions and lease grants: the first may have been applied.
        case unsafe
    }

    /// One attempt's failure that sends the request to the next member.
    enum Skip {
        case unreachable(String)
        case noLeader(String)
    }

    /// POSTs `body` to `path` at each member in turn until one answers, and
    /// decodes the answer.
    func call<Answer: Decodable>(
        _ path: String, _ body: [String: any Sendable], as: Answer.Type, repeat policy: Repeat,
        requireLeader: Bool = true
    ) async throws -> Answer {
        let payload = try JSONSerialization.data(withJSONObject: body)
        var skipped: [Skip] = []
        for index in attemptOrder {
            let endpoint = endpoints[index]
            let answer: (status: UInt, body: Data)
            do {
                answer = try await post(endpoint + path, payload, requireLeader: requireLeader)
            } catch let failure as AttemptFailure {
                try Task.checkCancellation()
                switch failure {
                case .timedOut where policy == .unsafe:
                    throw EtcdError.timedOut(endpoint: endpoint, path: path, after: requestTimeout)
                case .timedOut:
                    skipped.append(.unreachable("no answer within \(Int(requestTimeout.milliseconds)) ms"))
                case .unreachable(let reason):
                    skipped.append(.unreachable(reason))
                }
                continue
            }
            guard answer.status == 200 else {
                let refusal = Self.refusal(answer.body, status: answer.status)
                if refusal.message.contains("no leader") {
                    skipped.append(.noLeader(refusal.message))
                    continue
                }
                throw EtcdError.server(endpoint: endpoint, path: path, code: refusal.code, message: refusal.message)
            }
            answered(index)
            do {
                return try JSONDecoder().decode(Answer.self, from: answer.body)
            } catch {
                throw EtcdError.decoding(endpoint: endpoint, path: path, detail: Self.describe(error, answer.body))
            }
        }
        throw allFailed(skipped)
    }

    /// The error once every member was skipped: no quorum if any of them
    /// answered "no leader", unreachable otherwise.
    func allFailed(_ skipped: [Skip]) -> EtcdError {
        let reasons = skipped.map { skip in
            switch skip {
            case .unreachable(let reason), .noLeader(let reason): reason
            }
        }
        if skipped.contains(where: { if case .noLeader = $0 { true } else { false } }) {
            return .noQuorum(endpoints: endpoints, reasons: reasons)
        }
        return .unreachable(endpoints: endpoints, reasons: reasons)
    }

    /// The gateway's error body, or the HTTP status when it is not one.
    static func refusal(_ body: Data, status: UInt) -> (code: Int, message: String) {
        if let parsed = try? JSONDecoder().decode(WireErrorBody.self, from: body),
           let message = parsed.message ?? parsed.error {
            return (parsed.code ?? -1, message)
        }
        let text = String(decoding: body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return (-1, "HTTP \(status)" + (text.isEmpty ? "" : ": \(text)"))
    }

    static func describe(_ error: any Error, _ body: Data) -> String {
        let text = String(decoding: body.prefix(200), as: UTF8.self)
        return "\(error) in \(text)"
    }

    enum AttemptFailure: Error {
        /// Connecting failed or the connection broke: nothing was applied,
        /// or it would be harmless to repeat (the member is gone).
        case unreachable(String)
        /// Sent, but no answer in time.
        case timedOut
    }

    /// One POST with the whole exchange bounded by `requestTimeout`.
    func post(_ url: String, _ payload: Data, requireLeader: Bool) async throws -> (status: UInt, body: Data) {
        let request = Self.request(url, payload, requireLeader: requireLeader)
        let timeout = requestTimeout
        do {
            return try await withThrowingTaskGroup(of: (status: UInt, body: Data)?.self) { group in
                group.addTask {
                    let response = try await self.http.execute(request, timeout: TimeAmount(timeout))
                    let body = try await response.body.collect(upTo: 64 << 20)
                    return (response.status.code, Data(body.readableBytesView))
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let answer = first else { throw AttemptFailure.timedOut }
                return answer
            }
        } catch let failure as AttemptFailure {
            throw failure
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw AttemptFailure.timedOut
        } catch let error as HTTPClientError where error == .connectTimeout {
            throw AttemptFailure.unreachable("no connection within \(Int(timeout.milliseconds)) ms")
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw AttemptFailure.unreachable(Self.reason(error))
        }
    }

    static func request(_ url: String, _ payload: Data, requireLeader: Bool) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if requireLeader { request.headers.add(name: "Grpc-Metadata-hasleader", value: "true") }
        request.body = .bytes(ByteBuffer(bytes: payload))
        return request
    }

    /// A connection error in few words: "connection refused" rather than
    /// NIO's full dump.
    static func reason(_ error: any Error) -> String {
        let text = String(describing: error)
        for known in ["Connection refused", "No route to host", "Network is unreachable", "Connection reset by peer"]
        where text.contains(known) {
            return known.lowercased()
        }
        if let error = error as? HTTPClientError, error == .remoteConnectionClosed { return "the connection was closed" }
        return text
    }
}
