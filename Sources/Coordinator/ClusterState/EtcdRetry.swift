import Foundation

extension EtcdError {
    /// Errors that a moment can cure: a member gone, an election under way.
    /// etcd elects a new leader within seconds after losing one member, and
    /// writes sent meanwhile time out or find no leader.
    var isTransient: Bool {
        switch self {
        case .unreachable, .noQuorum, .timedOut: true
        case .server(_, _, let code, _): code == 14  // gRPC unavailable
        default: false
        }
    }
}

/// Retries `body` on transient etcd errors for up to `patience`, then gives
/// up with the last error. `body` must be safe to run again: it is told
/// whether an earlier attempt may have been applied (`retry`), so it can look
/// before writing twice.
func withEtcdRetry<T>(
    patience: Duration = .seconds(15), _ body: (_ retry: Bool) async throws -> T
) async throws -> T {
    let deadline = ContinuousClock.now + patience
    var retry = false
    while true {
        do {
            return try await body(retry)
        } catch let error as EtcdError where error.isTransient && ContinuousClock.now < deadline {
            retry = true
            try await Task.sleep(for: .milliseconds(500))
        }
    }
}
