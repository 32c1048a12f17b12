import Foundation

extension EtcdClient {
    /// The key, or nil when it does not exist.
    func get(_ key: String) async throws -> EtcdKeyValue? {
        let answer = try await call("/v3/kv/range", WireRequest.range(key: key), as: WireRangeResponse.self, repeat: .safe)
        return try decode("/v3/kv/range") { try answer.kvs?.first?.decoded() }
    }

    /// Every key starting with `prefix`, sorted by key ("" for all keys).
    func range(prefix: String) async throws -> EtcdRangeResult {
        let path = "/v3/kv/range"
        let answer = try await call(path, WireRequest.range(prefix: prefix), as: WireRangeResponse.self, repeat: .safe)
        return try decode(path) {
            EtcdRangeResult(kvs: try (answer.kvs ?? []).map { try $0.decoded() }, revision: try Self.revision(answer.header))
        }
    }

    /// Sets the key, attached to `lease` if given; returns the store's
    /// revision after the put (the key's new mod revision).
    @discardableResult
    func put(_ key: String, _ value: Data, lease: Int64? = nil) async throws -> Int64 {
        let path = "/v3/kv/put"
        do {
            let answer = try await call(
                path, WireRequest.put(key: key, value: value, lease: lease), as: WireRevisionResponse.self, repeat: .safe)
            return try decode(path) { try Self.revision(answer.header) }
        } catch let error as EtcdError {
            throw Self.leaseError(error, lease)
        }
    }

    /// Deletes the key; returns how many keys were deleted (0 or 1).
    @discardableResult
    func delete(_ key: String) async throws -> Int64 {
        let answer = try await call(
            "/v3/kv/deleterange", WireRequest.deleteRange(key: key), as: WireDeleteResponse.self, repeat: .safe)
        return answer.deleted?.value ?? 0
    }

    /// Deletes every key starting with `prefix`; returns how many.
    @discardableResult
    func delete(prefix: String) async throws -> Int64 {
        let answer = try await call(
            "/v3/kv/deleterange", WireRequest.deleteRange(prefix: prefix), as: WireDeleteResponse.self, repeat: .safe)
        return answer.deleted?.value ?? 0
    }

    /// Runs the transaction. It is not sent to a second member after the
    /// first timed out (see `EtcdError.timedOut`); a caller that must know
    /// whether it was applied can compare on a value only it writes.
    func txn(_ txn: EtcdTxn) async throws -> EtcdTxnResult {
        let path = "/v3/kv/txn"
        let answer = try await call(path, WireRequest.txn(txn), as: WireTxnResponse.self, repeat: .unsafe)
        return try decode(path) {
            let responses: [EtcdTxnResult.Response] = try (answer.responses ?? []).map { op in
                if let range = op.response_range { return .get(try (range.kvs ?? []).map { try $0.decoded() }) }
                if let deleted = op.response_delete_range { return .delete(deleted: deleted.deleted?.value ?? 0) }
                if op.response_put != nil { return .put }
                throw WireError.malformed("a transaction response of no known kind")
            }
            return EtcdTxnResult(succeeded: answer.succeeded ?? false, revision: try Self.revision(answer.header), responses: responses)
        }
    }

    /// A header's revision; every successful answer carries one.
    static func revision(_ header: WireHeader?) throws -> Int64 {
        guard let revision = header?.revision?.value else { throw WireError.malformed("no header revision") }
        return revision
    }

    /// Runs `body`, turning a malformed answer into `EtcdError.decoding`.
    /// The endpoint is the one that answered last.
    func decode<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw EtcdError.decoding(endpoint: currentEndpoint, path: path, detail: "\(error)")
        }
    }

    /// etcd's "requested lease not found" as the typed error.
    static func leaseError(_ error: EtcdError, _ lease: Int64?) -> EtcdError {
        if case .server(_, _, _, let message) = error, message.contains("lease not found"), let lease {
            return .leaseNotFound(lease)
        }
        return error
    }
}
