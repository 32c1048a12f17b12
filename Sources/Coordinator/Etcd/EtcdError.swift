import Foundation

/// What went wrong talking to etcd, with the endpoint, request and etcd's
/// own words, so an operator reading one line knows which member to look at.
enum EtcdError: Error, CustomStringConvertible, Equatable {
    /// Every endpoint failed before etcd could answer: refused, no connection
    /// within the timeout, connection dropped. `reasons` follows `endpoints`.
    case unreachable(endpoints: [String], reasons: [String])
    /// Members answered, but none could serve the request because it has no
    /// leader (a majority is down or cut off). `reasons` follows `endpoints`.
    case noQuorum(endpoints: [String], reasons: [String])
    /// The request was sent but no answer came in time. For a write that is
    /// not safe to repeat (a transaction, a lease grant) the client does not
    /// try another member: the write may or may not have been applied.
    case timedOut(endpoint: String, path: String, after: Duration)
    /// etcd refused the request: `code` is the gRPC status code the gateway
    /// passes on, `message` etcd's text.
    case server(endpoint: String, path: String, code: Int, message: String)
    /// The lease expired or was revoked (or never existed).
    case leaseNotFound(Int64)
    /// The answer was not what etcd's API documents.
    case decoding(endpoint: String, path: String, detail: String)
    /// etcd ended a watch: the revision asked for was compacted away, or the
    /// member lost its leader. Watch again (from `compactRevision` if set).
    case watchCanceled(endpoint: String, reason: String, compactRevision: Int64?)
    /// The watch's connection ended. Watch again from the last revision seen + 1.
    case watchBroken(endpoint: String, lastRevision: Int64?, reason: String)

    var description: String {
        switch self {
        case .unreachable(let endpoints, let reasons):
            "etcd is unreachable: " + Self.list(endpoints, reasons)
        case .noQuorum(let endpoints, let reasons):
            "etcd has no quorum (no leader; a majority of members is down or cut off): " + Self.list(endpoints, reasons)
        case .timedOut(let endpoint, let path, let after):
            "etcd at \(endpoint) did not answer \(path) within \(Int(after.milliseconds)) ms; the write may or may not have been applied"
        case .server(let endpoint, let path, let code, let message):
            "etcd at \(endpoint) refused \(path): \(message) (code \(code))"
        case .leaseNotFound(let id):
            "etcd lease \(String(id, radix: 16)) no longer exists (expired or revoked)"
        case .decoding(let endpoint, let path, let detail):
            "unexpected answer from etcd at \(endpoint) to \(path): \(detail)"
        case .watchCanceled(let endpoint, let reason, let compactRevision):
            "etcd at \(endpoint) ended the watch: \(reason)"
                + (compactRevision.map { " (history compacted up to revision \($0))" } ?? "")
        case .watchBroken(let endpoint, let lastRevision, let reason):
            "the watch on etcd at \(endpoint) broke: \(reason)"
                + (lastRevision.map { "; last revision seen \($0)" } ?? "")
        }
    }

    private static func list(_ endpoints: [String], _ reasons: [String]) -> String {
        if endpoints.isEmpty { return "no endpoints configured" }
        return zip(endpoints, reasons).map { "\($0): \($1)" }.joined(separator: "; ")
    }
}
