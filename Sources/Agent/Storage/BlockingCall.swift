import Foundation

/// Runs blocking file-system work (stat, statvfs, read) on a thread of its
/// own and stops waiting after a deadline. A shared path on a dead hard NFS
/// mount blocks in the kernel and cannot be interrupted; the caller gets a
/// timeout, and the stuck thread ends whenever the kernel lets it go.
enum BlockingCall {
    struct TimedOut: Error {}

    static func run<T: Sendable>(timeout: Duration, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let once = ResumeOnce(continuation)
            let thread = Thread { once.resume(Result { try body() }) }
            thread.start()
            let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { once.resume(.failure(TimedOut())) }
        }
    }

    /// Whichever of the work and the deadline comes first resumes the caller.
    private final class ResumeOnce<T: Sendable>: @unchecked Sendable {  // `continuation` is guarded by `lock`
        private let lock = NSLock()
        private var continuation: CheckedContinuation<T, any Error>?

        init(_ continuation: CheckedContinuation<T, any Error>) { self.continuation = continuation }

        func resume(_ result: Result<T, any Error>) {
            let waiting = lock.withLock {
                defer { continuation = nil }
                return continuation
            }
            waiting?.resume(with: result)
        }
    }
}
