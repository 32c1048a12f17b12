import Foundation

/// A failed NFS operation, with where it happened and libnfs's own words.
public struct NFSError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// No answer within the deadline (server dead, or network cut).
        case timedOut
        /// Nothing listens on the server's NFS, MOUNT or portmapper port.
        case connectionRefused
        /// No route to the server.
        case unreachable
        /// The server runs, but has no such export.
        case exportNotFound
        /// The server refuses this client (NFSv3 says this for a missing export too).
        case accessDenied
        case notFound
        case alreadyExists
        /// The client was closed, or an earlier failure left its connection unusable.
        case notConnected
        case other
    }

    public var kind: Kind
    /// "mount", "stat", "write", ...
    public var operation: String
    public var server: String
    public var export: String
    public var path: String?
    /// libnfs's error text (or ours, for timeouts).
    public var message: String
    /// The errno libnfs reported, when it did.
    public var code: Int32?

    public var description: String {
        let what = path.map { "\(operation) \($0)" } ?? operation
        return "NFS \(what) on \(server):\(export) failed (\(kind.rawValue)): \(message)"
    }

    /// Sorts a libnfs failure (negative errno plus text) into a kind.
    static func kind(status: Int32, message: String, operation: String) -> Kind {
        let text = message.lowercased()
        if operation == "mount" {
            if text.contains("mnt3err_noent") || text.contains("nfs4err_noent") { return .exportNotFound }
            if text.contains("mnt3err_acces") || text.contains("nfs4err_access") { return .accessDenied }
        }
        switch -status {
        case ETIMEDOUT: return .timedOut
        case ECONNREFUSED: return .connectionRefused
        case EHOSTUNREACH, ENETUNREACH: return .unreachable
        case ENOENT: return operation == "mount" ? .exportNotFound : .notFound
        case EACCES, EPERM: return .accessDenied
        case EEXIST: return .alreadyExists
        default: break
        }
        if text.contains("refused") { return .connectionRefused }
        if text.contains("timed out") || text.contains("timeout") { return .timedOut }
        if text.contains("unreachable") { return .unreachable }
        return .other
    }
}
