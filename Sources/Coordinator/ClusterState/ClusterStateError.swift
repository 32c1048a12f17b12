/// Errors of the shared cluster state, each naming what was being done.
enum ClusterStateError: Error, CustomStringConvertible {
    /// Only the leader runs migrations; a CLI queues them instead.
    case notLeader(doing: String)
    /// This coordinator's leader key is gone or belongs to a later epoch.
    case leadershipLost(epoch: UInt64, now: LeaderRecord?)
    /// A compare-and-swap lost to a concurrent change.
    case conflict(String)
    /// etcd cannot commit anything: too few members answer.
    case noQuorum(String)

    var description: String {
        switch self {
        case .notLeader(let doing):
            "cannot \(doing): in a coordinator cluster only the leader runs migrations; queue the work (coord migrate, coord evacuate) and the leader runs it"
        case .leadershipLost(let epoch, let now):
            "this coordinator no longer leads (it led at epoch \(epoch)" + (now.map { "; \($0.name) leads at epoch \($0.epoch ?? 0)" } ?? "; no one leads now") + "): it stops acting"
        case .conflict(let doing):
            "could not \(doing): the state changed meanwhile"
        case .noQuorum(let detail):
            "etcd has no quorum, so no coordinator may start anything: \(detail)"
        }
    }
}
