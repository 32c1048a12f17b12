import Shared

/// Chooses a host for one VM: every filter must pass; among the hosts that
/// pass, the one left with the largest share of its memory free wins (so VMs
/// spread out), and the name breaks ties, so the same input always gives the
/// same answer.
enum Placement {
    struct Decision: Sendable, Equatable {
        var host: String?
        /// Every host that was ruled out, with the first reason.
        var rejections: [Rejection]
    }

    struct Rejection: Sendable, Equatable, Codable {
        var host: String
        var reason: String
    }

    static func choose(_ spec: VMSpec, among hosts: [PlacementHost]) -> Decision {
        var rejections: [Rejection] = []
        var feasible: [(host: PlacementHost, score: Double)] = []
        for host in hosts {
            if let reason = PlacementFilter.allCases.lazy.compactMap({ $0.rejects(spec, on: host) }).first {
                rejections.append(Rejection(host: host.name, reason: reason))
            } else {
                feasible.append((host, score(spec, on: host)))
            }
        }
        let best = feasible.max { a, b in a.score == b.score ? a.host.name > b.host.name : a.score < b.score }
        return Decision(host: best?.host.name, rejections: rejections)
    }

    /// Share of the host's memory still free once the VM is there.
    static func score(_ spec: VMSpec, on host: PlacementHost) -> Double {
        guard let memory = host.inventory?.memory, memory.totalBytes > 0 else { return 0 }
        let freeAfter = Double(memory.availableBytes) - Double(spec.footprintBytes + host.pendingBytes)
        return freeAfter / Double(memory.totalBytes)
    }
}
