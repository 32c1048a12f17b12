import Shared

/// Errors that mean "this coordinator no longer leads".
enum LeadershipLoss {
    static func isLoss(_ error: any Error) -> Bool {
        switch error {
        case let error as AgentError: error.code == .fenced
        case ClusterStateError.leadershipLost: true
        case is CancellationError: true
        case let error as HostUnreachable: isLoss(error.underlying)
        default: false
        }
    }
}
