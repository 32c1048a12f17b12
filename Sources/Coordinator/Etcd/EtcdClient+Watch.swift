import AsyncHTTPClient
import Foundation
import NIOCore

extension EtcdClient {
    /// Changes to one key, from `fromRevision` on (nil: from now).
    ///
    /// The stream ends with `EtcdError.watchBroken` when the connection
    /// breaks and `EtcdError.watchCanceled` when etcd ends the watch
    /// (history compacted, member lost its leader); it does not reconnect.
    /// To miss nothing, watch again from the last event's revision + 1.
    /// Cancelling the consuming task closes the HTTP request.
    func watch(key: String, fromRevision: Int64? = nil) -> AsyncThrowingStream<EtcdWatchEvent, any Error> {
        watch(WireRequest.range(key: key), fromRevision: fromRevision)
    }

    /// Changes to every key starting with `prefix`; see `watch(key:fromRevision:)`.
    func watch(prefix: String, fromRevision: Int64? = nil) -> AsyncThrowingStream<EtcdWatchEvent, any Error> {
        watch(WireRequest.range(prefix: prefix).filter { $0.key == "key" || $0.key == "range_end" }, fromRevision: fromRevision)
    }

    private func watch(_ range: [String: any Sendable], fromRevision: Int64?) -> AsyncThrowingStream<EtcdWatchEvent, any Error> {
        var create = range
        if let fromRevision { create["start_revision"] = String(fromRevision) }
        let body: [String: any Sendable] = ["create_request": create]
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: EtcdWatchEvent.self)
        let task = Task {
            do {
                try await self.runWatch(body, continuation)
                continuation.finish()
            } catch {
                continuation.finish(throwing: Task.isCancelled ? CancellationError() : error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func runWatch(
        _ body: [String: any Sendable], _ continuation: AsyncThrowingStream<EtcdWatchEvent, any Error>.Continuation
    ) async throws {
        let path = "/v3/watch"
        let (endpoint, response) = try await openWatch(path, try JSONSerialization.data(withJSONObject: body))
        var lastRevision: Int64?
        var pending = Data()
        do {
            // The gateway writes one JSON object per message, each ended by "\n".
            for try await chunk in response.body {
                pending.append(contentsOf: chunk.readableBytesView)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = pending[pending.startIndex..<newline]
                    pending = Data(pending[(newline + 1)...])
                    if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
                    for event in try Self.watchEvents(line, endpoint: endpoint, path: path) {
                        lastRevision = event.revision
                        continuation.yield(event)
                    }
                }
            }
        } catch let error as EtcdError {
            throw error
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw EtcdError.watchBroken(endpoint: endpoint, lastRevision: lastRevision, reason: Self.reason(error))
        }
        if Task.isCancelled { throw CancellationError() }
        throw EtcdError.watchBroken(endpoint: endpoint, lastRevision: lastRevision, reason: "etcd closed the connection")
    }

    /// Opens the watch at the first member that accepts it.
    private func openWatch(_ path: String, _ payload: Data) async throws -> (String, HTTPClientResponse) {
        var skipped: [Skip] = []
        for index in attemptOrder {
            let endpoint = endpoints[index]
            let request = Self.request(endpoint + path, payload, requireLeader: true)
            let response: HTTPClientResponse
            do {
                // The deadline covers the response head only; the body streams on.
                response = try await http.execute(request, timeout: TimeAmount(requestTimeout))
            } catch {
                try Task.checkCancellation()
                skipped.append(.unreachable(Self.reason(error)))
                continue
            }
            guard response.status == .ok else {
                let body = (try? await response.body.collect(upTo: 1 << 20)).map { Data($0.readableBytesView) } ?? Data()
                let refusal = Self.refusal(body, status: response.status.code)
                if refusal.message.contains("no leader") {
                    skipped.append(.noLeader(refusal.message))
                    continue
                }
                throw EtcdError.server(endpoint: endpoint, path: path, code: refusal.code, message: refusal.message)
            }
            answered(index)
            return (endpoint, response)
        }
        throw allFailed(skipped)
    }

    /// The events of one message of the stream; the "created" ack has none.
    static func watchEvents(_ line: Data, endpoint: String, path: String) throws -> [EtcdWatchEvent] {
        let message: WireWatchMessage
        do {
            message = try JSONDecoder().decode(WireWatchMessage.self, from: line)
        } catch {
            throw EtcdError.decoding(endpoint: endpoint, path: path, detail: describe(error, line))
        }
        if let error = message.error {
            throw EtcdError.watchCanceled(
                endpoint: endpoint, reason: error.message ?? error.error ?? "unknown error", compactRevision: nil)
        }
        guard let result = message.result else {
            throw EtcdError.decoding(endpoint: endpoint, path: path, detail: describe(WireError.malformed("no result"), line))
        }
        if result.canceled == true {
            let compacted = result.compact_revision?.value
            throw EtcdError.watchCanceled(
                endpoint: endpoint,
                reason: result.cancel_reason.flatMap { $0.isEmpty ? nil : $0 }
                    ?? (compacted != nil ? "the revision asked for was compacted" : "canceled by etcd"),
                compactRevision: compacted.flatMap { $0 > 0 ? $0 : nil })
        }
        do {
            return try (result.events ?? []).map { event in
                guard let kv = try event.kv?.decoded() else { throw WireError.malformed("an event without kv") }
                let kind: EtcdWatchEvent.Kind = event.type == "DELETE" ? .delete : .put
                return EtcdWatchEvent(kind: kind, kv: kv, revision: kv.modRevision)
            }
        } catch {
            throw EtcdError.decoding(endpoint: endpoint, path: path, detail: describe(error, line))
        }
    }
}
