import Foundation

extension EtcdClient {
    /// A new lease of `ttlSeconds`. Not sent to a second member after the
    /// first timed out: that could leave a lease nobody knows of (harmless,
    /// it expires, but the caller should learn of the timeout).
    func grantLease(ttlSeconds: Int) async throws -> EtcdLease {
        let path = "/v3/lease/grant"
        let answer = try await call(path, ["TTL": String(ttlSeconds)], as: WireLeaseGrantResponse.self, repeat: .unsafe)
        if let error = answer.error, !error.isEmpty {
            throw EtcdError.server(endpoint: currentEndpoint, path: path, code: -1, message: error)
        }
        return try decode(path) {
            guard let id = answer.ID?.value, let ttl = answer.TTL?.value else { throw WireError.malformed("no ID or TTL") }
            return EtcdLease(id: id, ttl: Int(ttl))
        }
    }

    /// Renews the lease once; returns its TTL (seconds) from now. Throws
    /// `EtcdError.leaseNotFound` when it expired or was revoked.
    @discardableResult
    func keepAliveOnce(_ id: Int64) async throws -> Int {
        let path = "/v3/lease/keepalive"
        let answer: WireKeepAliveResponse
        do {
            answer = try await call(path, ["ID": String(id)], as: WireKeepAliveResponse.self, repeat: .safe)
        } catch let error as EtcdError {
            throw Self.leaseError(error, id)
        }
        if let error = answer.error {
            let message = error.message ?? error.error ?? "unknown error"
            if message.contains("lease not found") { throw EtcdError.leaseNotFound(id) }
            throw EtcdError.server(endpoint: currentEndpoint, path: path, code: error.code ?? -1, message: message)
        }
        // etcd answers an unknown lease with a TTL of 0, which the gateway leaves out.
        let ttl = answer.result?.TTL?.value ?? 0
        guard ttl > 0 else { throw EtcdError.leaseNotFound(id) }
        return Int(ttl)
    }

    /// Ends the lease now, deleting its keys. A lease already gone throws
    /// `EtcdError.leaseNotFound`.
    func revokeLease(_ id: Int64) async throws {
        do {
            _ = try await call("/v3/lease/revoke", ["ID": String(id)], as: WireRevisionResponse.self, repeat: .safe)
        } catch let error as EtcdError {
            throw Self.leaseError(error, id)
        }
    }

    /// Seconds the lease has left, or nil when it no longer exists.
    func timeToLive(_ id: Int64) async throws -> Int? {
        let answer = try await call("/v3/lease/timetolive", ["ID": String(id)], as: WireTimeToLiveResponse.self, repeat: .safe)
        guard let ttl = answer.TTL?.value, ttl >= 0 else { return nil }
        return Int(ttl)
    }
}
