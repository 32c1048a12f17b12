import CLibNFS
import Foundation

/// One libnfs context and the loop that drives it. Not thread-safe (libnfs
/// isn't): `NFSClient` calls it only from its serial queue.
///
/// Every operation goes through libnfs's async API and our own poll loop with
/// a deadline, rather than the sync API: a dead server then costs at most the
/// deadline, whatever step (portmapper, MOUNT, NFS connect) it dies in.
final class NFSContext {
    let server: String
    let export: String
    private var context: OpaquePointer?
    /// Why the context can no longer be used, once something broke it.
    private var brokenReason: String?
    /// Operations whose callback may still come (they timed out); kept alive
    /// until the context is destroyed, since libnfs holds pointers to them.
    private var abandoned: [NFSCompletion] = []
    /// For messages: the client's per-call timeout.
    private var timeout: Duration?

    init(server: String, export: String) throws {
        self.server = server
        self.export = export
        guard let context = nfs_init_context() else {
            throw NFSError(kind: .other, operation: "init", server: server, export: export, message: "nfs_init_context failed")
        }
        self.context = context
    }

    deinit { destroy() }

    func destroy() {
        if let context { nfs_destroy_context(context) }
        context = nil
        abandoned.removeAll()
        brokenReason = brokenReason ?? "the client was closed"
    }

    /// Sets ports and version from the URL's options (libnfs reads them from a URL only).
    func configure(from url: NFSURL, timeout: Duration) throws {
        let context = try usable(operation: "mount", path: nil)
        self.timeout = timeout
        if let parsed = nfs_parse_url_dir(context, url.exportURL) {
            nfs_destroy_url(parsed)
        } else {
            throw error(operation: "mount", path: nil, status: -EINVAL, message: lastError(context))
        }
        // libnfs wants whole seconds; its own per-RPC timeout backs up our deadline.
        let seconds = max(1, Int32((timeout.components.seconds)))
        nfs_set_timeout(context, seconds * 1000)
    }

    /// Queues one libnfs async call and services the context until its
    /// callback runs or the deadline passes. Returns the callback's status.
    @discardableResult
    func perform(
        _ operation: String, path: String?, deadline: ContinuousClock.Instant,
        onSuccess: @escaping (Int32, UnsafeMutableRawPointer?) -> Void = { _, _ in },
        start: (OpaquePointer, nfs_cb, UnsafeMutableRawPointer) -> Int32
    ) throws -> Int32 {
        let context = try usable(operation: operation, path: path)
        let completion = NFSCompletion(onSuccess: onSuccess)
        let queued = start(context, nfsCallback, Unmanaged.passUnretained(completion).toOpaque())
        guard queued == 0 else {
            throw error(operation: operation, path: path, status: queued, message: lastError(context))
        }
        // libnfs reports a failed connect only as "POLLHUP"; the socket knows why.
        var socketErrno: Int32?
        func failure(_ status: Int32, _ message: String) -> NFSError {
            guard let socketErrno else { return error(operation: operation, path: path, status: status, message: message) }
            return error(operation: operation, path: path, status: -socketErrno, message: "\(message) (\(String(cString: strerror(socketErrno))))")
        }
        while !completion.finished {
            let remaining = deadline - .now
            if remaining <= .zero {
                abandoned.append(completion)
                brokenReason = "an earlier \(operation) timed out"
                throw NFSError(
                    kind: .timedOut, operation: operation, server: server, export: export, path: path,
                    message: "no answer from the server within \(timeout.map { "\($0)" } ?? "the deadline")", code: ETIMEDOUT)
            }
            let waitMs = Int32(min(100, max(1, remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000)))
            var descriptor = pollfd(fd: nfs_get_fd(context), events: Int16(truncatingIfNeeded: nfs_which_events(context)), revents: 0)
            let ready = poll(&descriptor, 1, waitMs)
            let revents = ready > 0 ? Int32(descriptor.revents) : 0
            if revents & Int32(POLLERR | POLLHUP) != 0 { socketErrno = Self.pendingSocketError(descriptor.fd) ?? socketErrno }
            // Called with no events too: libnfs handles its timeouts there.
            if nfs_service(context, revents) < 0 && !completion.finished {
                abandoned.append(completion)
                let message = lastError(context)
                brokenReason = "the connection failed: \(message)"
                throw failure(-EIO, message)
            }
        }
        guard completion.status >= 0 else {
            throw failure(completion.status, completion.message ?? lastError(context))
        }
        return completion.status
    }

    func error(operation: String, path: String?, status: Int32, message: String) -> NFSError {
        NFSError(
            kind: NFSError.kind(status: status, message: message, operation: operation), operation: operation,
            server: server, export: export, path: path, message: message, code: status < 0 ? -status : nil)
    }

    private func usable(operation: String, path: String?) throws -> OpaquePointer {
        guard let context, brokenReason == nil else {
            throw NFSError(
                kind: .notConnected, operation: operation, server: server, export: export, path: path,
                message: brokenReason ?? "the client was closed")
        }
        return context
    }

    private func lastError(_ context: OpaquePointer) -> String {
        nfs_get_error(context).map { String(cString: $0) } ?? "unknown libnfs error"
    }

    private static func pendingSocketError(_ fd: Int32) -> Int32? {
        guard fd >= 0 else { return nil }
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) == 0, value != 0 else { return nil }
        return value
    }
}

/// The result slot an async libnfs call's callback fills in.
final class NFSCompletion {
    var finished = false
    var status: Int32 = 0
    var message: String?
    /// Copies what `data` points at; it is valid only during the callback.
    let onSuccess: (Int32, UnsafeMutableRawPointer?) -> Void

    init(onSuccess: @escaping (Int32, UnsafeMutableRawPointer?) -> Void) {
        self.onSuccess = onSuccess
    }
}

/// The one C callback for every operation; `privateData` is the NFSCompletion.
private let nfsCallback: nfs_cb = { status, _, data, privateData in
    guard let privateData else { return }
    let completion = Unmanaged<NFSCompletion>.fromOpaque(privateData).takeUnretainedValue()
    completion.status = status
    if status < 0 {
        // On failure libnfs passes its error text as `data`.
        completion.message = data.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) }
    } else {
        completion.onSuccess(status, data)
    }
    completion.finished = true
}
