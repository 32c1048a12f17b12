import Foundation
import Shared
import Testing
@testable import Coordinator

/// Each pre-migration check passing, and failing with a reason to act on.
@Suite struct MigrationChecksTests {
    static func host(
        _ name: String, freeMiB: UInt64 = 3000, version: String = "7.2.0", level: String? = nil,
        models: [CPUModel] = [CPUModel(name: "Westmere", unavailableFeatures: []), CPUModel(name: "Haswell", unavailableFeatures: [])],
        machines: [String] = ["pc-i440fx-7.2"]
    ) -> HostInventory {
        HostInventory(
            host: name, agentVersion: "0.1.0", cpu: CPUInventory(vendor: "x", model: "x", flags: [], count: 2, utilisation: 0),
            memory: MemoryInventory(totalBytes: 4096 << 20, availableBytes: freeMiB << 20), load: LoadAverage(one: 0, five: 0, fifteen: 0),
            qemu: QEMUInventory(binary: "qemu", version: version, machineTypes: machines.map { MachineType(name: $0) }, cpuModels: models, cpuLevel: level),
            qemuError: nil, accelerator: AcceleratorStatus(kind: .tcg, kvmDevicePresent: false, kvmBootsGuest: nil, detail: ""),
            storagePools: [], vms: [], collectedAt: Date())
    }

    let vm = VMSummary(
        name: "vm1", state: "running", memoryBytes: 256 << 20, vcpus: 1, pid: 42, cpuModel: "Haswell", machineType: "pc-i440fx-7.2",
        disks: ["nfs://198.51.100.2/ferry/vm1.qcow2"])
    let shared = [DiskSameness(location: "nfs://198.51.100.2/ferry/vm1.qcow2", shared: true, detail: "h2 opens it through libnfs")]

    func evaluate(
        vm: VMSummary? = nil, target: HostInventory? = host("h2"), targetName: String = "h2", problem: String? = nil,
        maintenance: Set<String> = [], storage: [DiskSameness]? = nil
    ) -> [String: CheckResult] {
        let results = MigrationChecks.evaluate(
            vm: vm ?? self.vm, source: Self.host("h1"), targetName: targetName, target: target, targetProblem: problem,
            maintenance: maintenance, storage: storage ?? shared)
        #expect(results.map(\.name) == MigrationChecks.names, "every check, always in the same order")
        return Dictionary(uniqueKeysWithValues: results.map { ($0.name, $0) })
    }

    /// Only `name` failed, and its detail says all of `words`.
    func expectOnlyFailure(_ results: [String: CheckResult], _ name: String, says words: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        let failed = results.values.filter { !$0.passed }.map(\.name)
        #expect(failed == [name], "failed: \(failed)", sourceLocation: sourceLocation)
        let detail = results[name]?.detail ?? ""
        for word in words { #expect(detail.contains(word), "\(name): '\(detail)' should say '\(word)'", sourceLocation: sourceLocation) }
    }

    @Test func everyCheckPassesForAFittingTarget() {
        let results = evaluate()
        #expect(results.values.allSatisfy { $0.passed }, "\(results.values.filter { !$0.passed })")
        #expect(results["memory"]?.detail.contains("needs 320 MiB") == true)
    }

    @Test func theSourceItselfIsRefused() {
        let results = evaluate(target: Self.host("h1"), targetName: "h1")
        #expect(results["other-host"]?.passed == false)
        #expect(results["other-host"]?.detail.contains("already runs on h1") == true)
        #expect(results["cpu-model"]?.detail.hasPrefix("not checked") == true)
    }

    @Test func aTargetThatIsDownIsRefusedAndTheRestNotChecked() {
        let results = evaluate(target: nil, problem: "connection refused")
        #expect(results["target-up"]?.passed == false)
        #expect(results["target-up"]?.detail.contains("connection refused") == true)
        for name in ["cpu-model", "machine-type", "qemu-version", "memory", "storage"] {
            #expect(results[name]?.passed == false && results[name]?.detail.contains("not checked: h2 did not answer") == true)
        }
        #expect(results["maintenance"]?.passed == true, "maintenance is known without the target")
    }

    @Test func aTargetInMaintenanceIsRefused() {
        expectOnlyFailure(evaluate(maintenance: ["h2", "h5"]), "maintenance", says: ["h2 is in maintenance", "coord maintenance exit h2"])
    }

    @Test func aCPUModelBeyondTheTargetsLevelIsRefused() {
        let h3 = Self.host("h3", level: "Westmere", models: [CPUModel(name: "Haswell", unavailableFeatures: ["avx2", "fma"])])
        expectOnlyFailure(
            evaluate(target: h3, targetName: "h3"), "cpu-model",
            says: ["CPU model Haswell cannot run on h3", "lacks avx2, fma", "h3's CPU level is Westmere", "coord cpu-baseline"])
    }

    @Test func aCPUModelTheTargetsQEMUDoesNotKnowIsRefused() {
        expectOnlyFailure(evaluate(target: Self.host("h2", models: [])), "cpu-model", says: ["does not know CPU model Haswell"])
    }

    @Test func aMissingMachineTypeIsRefused() {
        expectOnlyFailure(evaluate(target: Self.host("h2", machines: ["pc-q35-7.2"])), "machine-type", says: ["no machine type pc-i440fx-7.2"])
    }

    @Test func anOlderTargetQEMUIsRefusedComparedNumerically() {
        expectOnlyFailure(evaluate(target: Self.host("h2", version: "7.1.9")), "qemu-version", says: ["7.1.9, older than 7.2.0"])
        #expect(evaluate(target: Self.host("h2", version: "7.10.0"))["qemu-version"]?.passed == true)
        #expect(MigrationChecks.compareVersions("7.10.0", "7.2.11") == .orderedDescending)
        #expect(MigrationChecks.compareVersions("7.2", "7.2.0") == .orderedSame)
        #expect(MigrationChecks.compareVersions("8.0.0", "10.0.0") == .orderedAscending)
    }

    @Test func notEnoughMemoryIsRefused() {
        // 256 MiB of RAM and 64 MiB of overhead do not fit in 300 MiB; 320 MiB do.
        expectOnlyFailure(evaluate(target: Self.host("h2", freeMiB: 300)), "memory", says: ["h2 has 300 MiB free", "needs 320 MiB", "64 MiB QEMU overhead"])
        #expect(evaluate(target: Self.host("h2", freeMiB: 320))["memory"]?.passed == true)
    }

    @Test func aDiskNotSharedIsRefused() {
        let unshared = [DiskSameness(location: "/srv/local/vm1.qcow2", shared: false, detail: "h2 does not see the token h1 wrote beside /srv/local/vm1.qcow2")]
        var local = vm
        local.disks = ["/srv/local/vm1.qcow2"]
        expectOnlyFailure(evaluate(vm: local, storage: unshared), "storage", says: ["does not see the token", "storage both hosts share"])
    }

    @Test func aDiskNotCheckedIsNotPassed() {
        expectOnlyFailure(evaluate(storage: []), "storage", says: ["not checked: nfs://198.51.100.2/ferry/vm1.qcow2"])
        var diskless = vm
        diskless.disks = []
        #expect(evaluate(vm: diskless, storage: [])["storage"]?.passed == true)
    }

    @Test func anAgentThatDoesNotReportTheVMsModelIsRefused() {
        var old = vm
        old.cpuModel = nil
        old.machineType = nil
        let results = evaluate(vm: old)
        #expect(results["cpu-model"]?.passed == false && results["machine-type"]?.passed == false)
        #expect(results["cpu-model"]?.detail.contains("upgrade") == true)
    }

    @Test func aTargetStillProbingSaysToRetry() {
        var probing = Self.host("h2")
        probing.qemu = nil
        probing.accelerator.kind = .probing
        let results = evaluate(target: probing)
        #expect(results["cpu-model"]?.passed == false)
        #expect(results["cpu-model"]?.detail.contains("still probing") == true)
    }
}
