import Foundation

extension EtcdClient {
    /// Asks every member for its status at once, each bounded by
    /// `requestTimeout`; in the order of `endpoints`. `summary` of the
    /// result says whether the cluster has quorum, for operators.
    func health() async -> [EndpointHealth] {
        let payload = Data("{}".utf8)
        return await withTaskGroup(of: (Int, EndpointHealth).self) { group in
            for (index, endpoint) in endpoints.enumerated() {
                group.addTask {
                    (index, await self.status(endpoint, payload))
                }
            }
            var answers = [EndpointHealth?](repeating: nil, count: endpoints.count)
            for await (index, health) in group { answers[index] = health }
            return answers.enumerated().map { index, health in
                health ?? EndpointHealth(endpoint: endpoints[index], reachable: false, error: "not asked")
            }
        }
    }

    private func status(_ endpoint: String, _ payload: Data) async -> EndpointHealth {
        let path = "/v3/maintenance/status"
        var health = EndpointHealth(endpoint: endpoint, reachable: false)
        let answer: (status: UInt, body: Data)
        do {
            // Without `hasleader`: a member without a leader still says so.
            answer = try await post(endpoint + path, payload, requireLeader: false)
        } catch AttemptFailure.unreachable(let reason) {
            health.error = reason
            return health
        } catch {
            health.error = error is AttemptFailure ? "no answer within \(Int(requestTimeout.milliseconds)) ms" : "\(error)"
            return health
        }
        health.reachable = true
        guard answer.status == 200 else {
            health.error = Self.refusal(answer.body, status: answer.status).message
            return health
        }
        guard let status = try? JSONDecoder().decode(WireStatusResponse.self, from: answer.body) else {
            health.error = "unreadable status: " + String(decoding: answer.body.prefix(200), as: UTF8.self)
            return health
        }
        health.memberID = status.header?.member_id?.value
        health.leaderID = status.leader.flatMap { $0.value == 0 ? nil : $0.value }
        health.version = status.version
        health.error = status.errors.flatMap { $0.isEmpty ? nil : $0.joined(separator: "; ") }
            ?? (health.leaderID == nil ? "etcdserver: no leader" : nil)
        return health
    }
}
