import Foundation
import Shared

/// One host as `coord hosts` sees it.
struct HostReport: Codable, Sendable, Equatable {
    enum State: String, Codable, Sendable {
        case up, down
    }

    var name: String
    var address: String
    var state: State
    /// Why the host is down; nil when up.
    var reason: String?
    /// Time to connect, greet and fetch the inventory.
    var latencyMs: Double?
    var inventory: HostInventory?
}

/// Asks every configured host for its inventory at once. A host that does
/// not answer is reported down with its reason; it never holds up the rest
/// longer than the connect and request timeouts.
struct ClusterSurvey: Sendable {
    let config: CoordConfig

    func survey(hosts names: [String]? = nil) async -> [HostReport] {
        let dialer = AgentDialer(config: config)
        let hosts = config.hosts.filter { names?.contains($0.name) ?? true }
        return await withTaskGroup(of: HostReport.self) { group in
            for host in hosts {
                group.addTask { await report(host, dialer: dialer) }
            }
            var reports: [HostReport] = []
            for await report in group { reports.append(report) }
            let order = Dictionary(uniqueKeysWithValues: hosts.enumerated().map { ($1.name, $0) })
            return reports.sorted { order[$0.name, default: 0] < order[$1.name, default: 0] }
        }
    }

    private func report(_ host: CoordConfig.Host, dialer: AgentDialer) async -> HostReport {
        let started = ContinuousClock.now
        var report = HostReport(name: host.name, address: host.address, state: .down)
        do {
            report.inventory = try await dialer.with(host) {
                try await $0.call(AgentMethods.Inventory.self, Empty(), timeout: dialer.requestTimeout)
            }
            report.state = .up
            let elapsed = ContinuousClock.now - started
            report.latencyMs = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        } catch {
            report.reason = "\(error)"
        }
        return report
    }
}
