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

    /// Where `name` runs according to a survey already made. A VM defined on
    /// two hosts is a conflict, unless one copy is a migration's incoming one.
    static func locate(_ name: String, in reports: [HostReport], config: CoordConfig) throws -> VMLocation {
        var found = reports.compactMap { report -> VMLocation? in
            guard let vm = report.inventory?.vms.first(where: { $0.name == name }), let host = try? config.host(named: report.name) else { return nil }
            return VMLocation(host: host, vm: vm)
        }
        // Mid-migration the target holds a paused incoming copy; the VM is
        // where it came from until the migration says otherwise.
        if found.count > 1 { found.removeAll { $0.vm.state == VMInfo.State.incoming.rawValue } }
        if found.count > 1 {
            throw CoordError.conflict("\(name) is defined on \(found.map(\.host.name).joined(separator: " and ")); delete the stale copy before going on")
        }
        guard let location = found.first else {
            let down = reports.filter { $0.state == .down }.map(\.name)
            throw CoordError.notFound("no VM named \(name)" + (down.isEmpty ? "" : " on any reachable host (down: \(down.joined(separator: ", ")))"))
        }
        return location
    }
}
