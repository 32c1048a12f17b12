import Foundation
import Shared
import Testing
@testable import Coordinator

/// PrecheckRunner with inventories already at hand, and what `coord check`
/// and `coord cpu-baseline` print.
@Suite struct CheckOutputTests {
    let config = CoordConfig(knownHosts: "/dev/null", hosts: [
        .init(name: "h1", address: "198.51.100.11"), .init(name: "h2", address: "198.51.100.12"),
    ])
    let diskless = VMSummary(name: "vm1", state: "running", memoryBytes: 256 << 20, vcpus: 1, pid: 1, cpuModel: "Westmere", machineType: "pc-i440fx-7.2", disks: [])

    func report(maintenance: Set<String>) async -> PrecheckReport {
        let target = HostReport(name: "h2", address: "198.51.100.12", state: .up, inventory: MigrationChecksTests.host("h2"))
        return await PrecheckRunner(config: config, maintenance: maintenance)
            .run(vm: diskless, source: MigrationChecksTests.host("h1"), target: target)
    }

    @Test func maintenanceGivenToTheRunnerRefusesTheTarget() async {
        let refused = await report(maintenance: ["h2"])
        #expect(!refused.ok)
        #expect(refused.refusals == ["maintenance: h2 is in maintenance; choose another host, or end it with `coord maintenance exit h2`"])
        #expect(await report(maintenance: ["h3"]).ok)
    }

    @Test func checkPrintsEveryCheckWithItsVerdict() async throws {
        let text = CheckCommand.describe(await report(maintenance: ["h2"]))
        #expect(text.hasPrefix("vm1 on h1 to h2: REFUSED (1 of 8 checks failed)"))
        #expect(text.contains("REFUSED  maintenance"))
        #expect(text.contains("ok       cpu-model"))
        let json = String(decoding: try AgentProtocol.encoder().encode(await report(maintenance: [])), as: UTF8.self)
        #expect(json.hasPrefix(#"{"checks":[{"detail":"h2 is not vm1's current host (h1)","name":"other-host","passed":true}"#))
        #expect(json.hasSuffix(#""ok":true,"source":"h1","target":"h2","vm":"vm1"}"#))
    }

    @Test func baselinePrintsTheLimitingHost() {
        let result = CPUBaseline.compute([
            CPUBaselineTests.host("h1", runs: ["Westmere", "Opteron_G2"]),
            CPUBaselineTests.host("h3", runs: ["Opteron_G2"], level: "Opteron_G2"),
        ])
        let text = CPUBaselineCommand.describe(result, skipped: [.init(host: "h4", reason: "down: no route")])
        #expect(text.hasPrefix("CPU baseline for h1, h3: Opteron_G2 (3 features)"))
        #expect(text.contains("h3 limits the choice: without it the baseline would be Westmere, which h3 cannot run (lacks feature-of-Westmere; CPU level Opteron_G2)"))
        #expect(text.contains("h4 left out: down: no route"))
    }
}
