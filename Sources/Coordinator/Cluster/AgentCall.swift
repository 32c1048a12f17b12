import Shared

extension AgentDialer {
    /// Connects to one host's agent, runs `body`, and closes the connection
    /// whatever happens.
    func with<T: Sendable>(_ host: CoordConfig.Host, _ body: (AgentClient) async throws -> T) async throws -> T {
        try await withClosing(try await connect(host), close: { await $0.close() }) { try await body($0.client) }
    }
}

/// Where a VM is, found by asking every host (the agents are the truth about
/// what runs where).
struct VMLocation: Sendable {
    var host: CoordConfig.Host
    var vm: VMSummary
}

enum VMLocator {
    static func locate(_ name: String, config: CoordConfig) async throws -> VMLocation {
        if let problem = VMName.problem(name) { throw CoordError.invalidArgument(problem.description) }
        return try locate(name, in: await ClusterSurvey(config: config).survey(), config: config)
    }
}
