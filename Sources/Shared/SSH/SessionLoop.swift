import Foundation

/// The one thread that owns a libssh session. libssh sessions are not
/// thread-safe, so every libssh call for a session runs here: callers `submit`
/// jobs, which run in order between polls of the session's socket, and await
/// their results through continuations.
///
/// A job receives the `SessionCore`, or nil once the loop has ended (the session
/// was closed or never connected); a job must then fail its continuation.
final class SessionLoop: @unchecked Sendable {
    // @unchecked Sendable: `jobs` and `ended` are guarded by `lock`; `core` is
    // touched only on the loop's own thread; the pipe descriptors never change.
    typealias Job = @Sendable (SessionCore?) -> Void

    private let lock = NSLock()
    private var jobs: [Job] = []
    private var ended = false
    private let core: SessionCore
    /// Writing a byte here wakes the loop from its poll.
    private let wakeRead: Int32
    private let wakeWrite: Int32

    init(endpoint: SSHEndpoint, options: SSHOptions) {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 { fatalError("pipe() failed: \(errno)") }  // only on descriptor exhaustion
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        core = SessionCore(endpoint: endpoint, options: options, wakeFD: fds[0])
        let thread = Thread { [self] in run() }
        thread.name = "ssh \(endpoint.name)"
        thread.start()
    }

    deinit {
        // The thread holds `self` until `run` returns, so nothing polls these any more.
        close(wakeRead)
        close(wakeWrite)
    }

    func submit(_ job: @escaping Job) {
        let accepted = lock.withLock {
            if ended { return false }
            jobs.append(job)
            return true
        }
        if accepted { wake() } else { job(nil) }
    }

    /// Runs a job on the loop and returns what it resumes its continuation with.
    func perform<T: Sendable>(_ body: @escaping @Sendable (SessionCore?, CheckedContinuation<T, any Error>) -> Void) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit { core in body(core, continuation) }
        }
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)  // EAGAIN means a wake-up is already pending
    }

    private func run() {
        while true {
            let batch = lock.withLock {
                let batch = jobs
                jobs.removeAll()
                return batch
            }
            for job in batch { job(core) }
            if core.isFinished { break }
            let busy = core.service()
            if core.isFinished { break }
            // A libssh call during `service` may have drained the wake pipe after a job
            // was queued; sleeping now would leave that job waiting a whole tick.
            if busy || lock.withLock({ !jobs.isEmpty }) { continue }
            core.waitForActivity()
        }
        // Jobs that raced with the end still get an answer.
        let leftover = lock.withLock {
            ended = true
            let leftover = jobs
            jobs.removeAll()
            return leftover
        }
        for job in leftover { job(nil) }
    }
}
