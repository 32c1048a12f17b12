import Foundation
import Shared

/// One pre-migration check: a stable name for programs, and for people a
/// detail that says what was found and, when it failed, what to do.
struct CheckResult: Codable, Sendable, Equatable {
    var name: String
    var passed: Bool
    var detail: String
}

/// Whether one disk is on storage the target sees as the same, as found over
/// the agents (PrecheckRunner): libnfs on the target for `nfs://`, a token
/// written by the source and read by the target for paths.
struct DiskSameness: Codable, Sendable, Equatable {
    var location: String
    var shared: Bool
    var detail: String
}

/// The checks run before every migration and by `coord check` (DESIGN:
/// "Before any migration the coordinator checks, and refuses with the
/// reason"). Pure: inventories in, one result per check out, always in the
/// same order and all of them, so output and JSON keep their shape; a check
/// that cannot be made (the target is down) fails with "not checked".
enum MigrationChecks {
    static let otherHost = "other-host"
    static let targetUp = "target-up"
    static let maintenance = "maintenance"
    static let cpuModel = "cpu-model"
    static let machineType = "machine-type"
    static let qemuVersion = "qemu-version"
    static let memory = "memory"
    static let storage = "storage"
    static let names = [otherHost, targetUp, maintenance, cpuModel, machineType, qemuVersion, memory, storage]

    /// `vm` as its source's agent reports it; `target` nil when the target
    /// did not answer (`targetProblem` says why); `maintenance` the hosts in
    /// maintenance; `storage` one entry per disk (empty when not checked).
    static func evaluate(
        vm: VMSummary, source: HostInventory, targetName: String, target: HostInventory?, targetProblem: String?,
        maintenance hostsInMaintenance: Set<String>, storage disks: [DiskSameness]
    ) -> [CheckResult] {
        var results = [
            CheckResult(
                name: otherHost, passed: targetName != source.host,
                detail: targetName != source.host
                    ? "\(targetName) is not \(vm.name)'s current host (\(source.host))"
                    : "\(vm.name) already runs on \(targetName); name another host with --to"),
            upCheck(targetName, target, targetProblem),
            maintenanceCheck(targetName, hostsInMaintenance),
        ]
        guard targetName != source.host else {
            return results + names.dropFirst(3).map { CheckResult(name: $0, passed: false, detail: "not checked: \(targetName) is the VM's own host") }
        }
        guard let target else {
            let why = "not checked: \(targetName) did not answer"
            return results + names.dropFirst(3).map { CheckResult(name: $0, passed: false, detail: why) }
        }
        results += [
            cpuCheck(vm, target),
            machineCheck(vm, target),
            versionCheck(source, target),
            memoryCheck(vm, target),
            storageCheck(vm, targetName, disks),
        ]
        return results
    }

    private static func upCheck(_ name: String, _ target: HostInventory?, _ problem: String?) -> CheckResult {
        guard let target else {
            return CheckResult(name: targetUp, passed: false, detail: "\(name) cannot be reached: \(problem ?? "no answer"); see `coord host show \(name)`")
        }
        return CheckResult(name: targetUp, passed: true, detail: "\(name) answers (agent \(target.agentVersion))")
    }

    private static func maintenanceCheck(_ name: String, _ hosts: Set<String>) -> CheckResult {
        hosts.contains(name)
            ? CheckResult(name: maintenance, passed: false, detail: "\(name) is in maintenance; choose another host, or end it with `coord maintenance exit \(name)`")
            : CheckResult(name: maintenance, passed: true, detail: "\(name) is not in maintenance")
    }

    /// Why the target reports no QEMU capabilities.
    private static func qemuMissing(_ target: HostInventory) -> String {
        if target.accelerator.kind == .probing { return "not checked: \(target.host)'s agent is still probing QEMU; try again in a few seconds" }
        return "QEMU on \(target.host) is unavailable: \(target.qemuError ?? "no reason given")"
    }

    private static func cpuCheck(_ vm: VMSummary, _ target: HostInventory) -> CheckResult {
        func result(_ passed: Bool, _ detail: String) -> CheckResult { CheckResult(name: cpuModel, passed: passed, detail: detail) }
        guard let model = vm.cpuModel else { return result(false, "the source's agent does not report \(vm.name)'s CPU model (an older agent? upgrade it)") }
        guard let qemu = target.qemu else { return result(false, qemuMissing(target)) }
        guard let known = qemu.cpuModels.first(where: { $0.name == model }) else {
            return result(false, "QEMU \(qemu.version) on \(target.host) does not know CPU model \(model); choose another host")
        }
        let level = qemu.cpuLevel.map { " at its CPU level \($0)" } ?? ""
        guard known.runnable else {
            let why = qemu.cpuLevel.map { " (\(target.host)'s CPU level is \($0))" } ?? ""
            let broken = target.qemuError.map { "; \(target.host) reports: \($0)" } ?? ""
            return result(
                false,
                "CPU model \(model) cannot run on \(target.host): it lacks \(known.unavailableFeatures.joined(separator: ", "))\(why)\(broken); "
                    + "choose another host, or give the VM a model every host runs (`coord cpu-baseline`) when it is next restarted")
        }
        return result(true, "\(target.host) runs CPU model \(model)\(level)")
    }

    private static func machineCheck(_ vm: VMSummary, _ target: HostInventory) -> CheckResult {
        func result(_ passed: Bool, _ detail: String) -> CheckResult { CheckResult(name: machineType, passed: passed, detail: detail) }
        guard let machine = vm.machineType else { return result(false, "the source's agent does not report \(vm.name)'s machine type (an older agent? upgrade it)") }
        guard let qemu = target.qemu else { return result(false, qemuMissing(target)) }
        guard qemu.machineTypes.contains(where: { $0.name == machine }) else {
            return result(false, "QEMU \(qemu.version) on \(target.host) has no machine type \(machine); choose a host whose QEMU has it, or upgrade QEMU on \(target.host)")
        }
        return result(true, "QEMU \(qemu.version) on \(target.host) has machine type \(machine)")
    }

    private static func versionCheck(_ source: HostInventory, _ target: HostInventory) -> CheckResult {
        func result(_ passed: Bool, _ detail: String) -> CheckResult { CheckResult(name: qemuVersion, passed: passed, detail: detail) }
        guard let from = source.qemu?.version else { return result(false, qemuMissing(source)) }
        guard let to = target.qemu?.version else { return result(false, qemuMissing(target)) }
        guard compareVersions(to, from) != .orderedAscending else {
            return result(false, "QEMU on \(target.host) is \(to), older than \(from) on \(source.host); QEMU migrates only to the same or a newer version: upgrade QEMU on \(target.host) or choose another host")
        }
        return result(true, "QEMU \(to) on \(target.host) is not older than \(from) on \(source.host)")
    }

    private static func memoryCheck(_ vm: VMSummary, _ target: HostInventory) -> CheckResult {
        let needed = vm.memoryBytes + VMSpec.qemuOverheadBytes
        let free = target.memory.availableBytes
        let need = "\(vm.name) needs \(ByteFormat.string(needed)) (\(ByteFormat.string(vm.memoryBytes)) RAM + \(ByteFormat.string(VMSpec.qemuOverheadBytes)) QEMU overhead)"
        guard free >= needed else {
            return CheckResult(
                name: memory, passed: false,
                detail: "\(target.host) has \(ByteFormat.string(free)) free for guests; \(need); free memory on \(target.host) (move or delete VMs there) or choose another host")
        }
        return CheckResult(name: memory, passed: true, detail: "\(target.host) has \(ByteFormat.string(free)) free for guests; \(need)")
    }

    private static func storageCheck(_ vm: VMSummary, _ targetName: String, _ disks: [DiskSameness]) -> CheckResult {
        func result(_ passed: Bool, _ detail: String) -> CheckResult { CheckResult(name: storage, passed: passed, detail: detail) }
        guard let locations = vm.disks else { return result(false, "the source's agent does not report \(vm.name)'s disks (an older agent? upgrade it)") }
        if locations.isEmpty { return result(true, "\(vm.name) has no disks") }
        let unchecked = locations.filter { location in !disks.contains { $0.location == location } }
        if !unchecked.isEmpty { return result(false, "not checked: \(unchecked.joined(separator: ", "))") }
        let unshared = disks.filter { !$0.shared }
        guard unshared.isEmpty else {
            return result(false, unshared.map(\.detail).joined(separator: "; ") + "; put such disks on storage both hosts share")
        }
        return result(true, disks.map(\.detail).joined(separator: "; "))
    }

    /// Dotted versions compared number by number ("7.10.0" is newer than "7.2.11").
    static func compareVersions(_ a: String, _ b: String) -> ComparisonResult {
        let left = a.split(separator: ".").map { Int($0.prefix { $0.isNumber }) ?? 0 }
        let right = b.split(separator: ".").map { Int($0.prefix { $0.isNumber }) ?? 0 }
        for index in 0..<max(left.count, right.count) {
            let (x, y) = (index < left.count ? left[index] : 0, index < right.count ? right[index] : 0)
            if x != y { return x < y ? .orderedAscending : .orderedDescending }
        }
        return .orderedSame
    }
}
