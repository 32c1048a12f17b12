import Foundation
import Shared
import Testing

/// The lab's coordinator cluster (scripts/lab-cluster): three etcd members
/// and three `coord serve`, each in its own namespace.
extension Lab {
    nonisolated var clusterConfig: String { labDir + "/cluster/coord.yaml" }
    nonisolated static let clusterLease = 5

    nonisolated func cluster(_ arguments: String...) async throws -> ProcessRunner.Output {
        let out = try await run(root + "/scripts/lab-cluster", arguments, timeout: 120)
        guard out.status == 0 else { throw LabFailure("scripts/lab-cluster \(arguments.joined(separator: " ")) failed:\n\(out.stderrText)") }
        return out
    }

    /// A fresh cluster (empty etcd) with balancing off, so only the queued
    /// operations move anything; returns once a coordinator leads.
    nonisolated func freshCluster() async throws -> String {
        _ = try await cluster("down")
        _ = try await cluster("up", "--coordinators", "3", "--lease", "\(Self.clusterLease)", "--", "--balance-every", "0", "--refresh-every", "5s")
        return try await waitForLeader(not: nil, timeout: .seconds(60)).name
    }

    nonisolated func leader() async -> String? {
        guard let out = try? await run(root + "/scripts/lab-cluster", ["leader"], timeout: 30), out.status == 0 else { return nil }
        let name = out.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        return name.isEmpty ? nil : name
    }

    /// Waits for a leader other than `not`; how long it took.
    nonisolated func waitForLeader(not previous: String?, timeout: Duration) async throws -> (name: String, after: Duration) {
        let started = ContinuousClock.now
        while ContinuousClock.now - started < timeout {
            if let name = await leader(), name != previous { return (name, ContinuousClock.now - started) }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw LabFailure("no coordinator other than \(previous ?? "none") led within \(timeout)")
    }

    nonisolated func serveLog(_ coordinator: String) -> String {
        (try? String(contentsOfFile: labDir + "/cluster/\(coordinator)/serve.log", encoding: .utf8)) ?? ""
    }

    nonisolated func agentLog(_ host: String) -> String {
        (try? String(contentsOfFile: hostDir(host) + "/agent.log", encoding: .utf8)) ?? ""
    }

    /// The epoch `coordinator` logged when it last took the lead.
    nonisolated func epoch(of coordinator: String) -> UInt64? {
        serveLog(coordinator).split(separator: "\n").reversed().lazy.compactMap { line -> UInt64? in
            guard let range = line.range(of: "\(coordinator) leads at epoch ") else { return nil }
            return UInt64(line[range.upperBound...].prefix { $0.isNumber })
        }.first
    }

    /// Waits until the cluster's journal shows a migration under way
    /// (streaming or later, not finished); returns its VM.
    nonisolated func waitForClusterMigration(atLeast step: String = "streaming", timeout: Duration = .seconds(300)) async throws -> String {
        let order = ["streaming", "switchover", "sourceCompleted", "targetResumed", "verified"]
        let wanted = Set(order.drop { $0 != step })
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let out = try await coord(["history", "--json"], config: clusterConfig)
            if out.status == 0, let history = try? AgentProtocol.decoder().decode(HistoryOutput.self, from: Data(out.stdout)),
               let running = history.migrations.first(where: { $0.outcome == nil && wanted.contains($0.lastStep) }) {
                return running.vm
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw LabFailure("no migration reached \(step) within \(timeout)")
    }

    /// Unfinished migrations in the cluster's journal.
    nonisolated func clusterUnfinished() async throws -> [HistoryOutput.Entry] {
        let out = try await coord(["history", "--json"], config: clusterConfig)
        guard out.status == 0 else { throw LabFailure("coord history (cluster) failed: \(out.stderrText)") }
        return try AgentProtocol.decoder().decode(HistoryOutput.self, from: Data(out.stdout)).migrations.filter { $0.outcome == nil }
    }

    /// Where the guest runs now: exactly one host, alive and whole.
    nonisolated func expectRunsOnExactlyOneHost(_ vm: String, beyond: UInt64, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let hosts = try await hostsListing(vm)
        #expect(hosts.count == 1, "\(vm) is listed on \(hosts)", sourceLocation: sourceLocation)
        if let host = hosts.first { try await expectRunsOnlyOn(vm, host, beyond: beyond, sourceLocation: sourceLocation) }
    }
}
