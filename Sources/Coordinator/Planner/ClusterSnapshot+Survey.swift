import Foundation
import Shared

extension ClusterSnapshot {
    /// The live cluster as the planner sees it. Hosts that did not answer are
    /// left out (their VMs cannot be known). `maintenance` (the journal's
    /// flags) marks hosts that must receive nothing; `lastMovedAt` (the
    /// journal's last successful migration per VM) feeds balancing's
    /// cool-down.
    ///
    /// A VM arriving in a migration (`incoming`) is left out: it is the same
    /// VM as the `migrating` one on the source, and the memory it holds is
    /// already missing from its host's available memory.
    init(reports: [HostReport], takenAt: Date = Date(), maintenance: Set<String> = [], lastMovedAt: [String: Date] = [:]) {
        self.init(takenAt: takenAt, hosts: [], vms: [])
        for report in reports {
            guard let inventory = report.inventory else { continue }
            hosts.append(Host(
                name: report.name, memoryTotalBytes: inventory.memory.totalBytes,
                memoryAvailableBytes: inventory.memory.availableBytes, cpuCount: inventory.cpu.count,
                cpuUtilisation: inventory.cpu.utilisation, cpuModels: inventory.qemu?.runnableCPUModels ?? [],
                unrunnableCPUModels: Self.unrunnable(inventory.qemu),
                machineTypes: inventory.qemu?.machineTypes.map(\.name) ?? [],
                storage: inventory.storagePools.filter(\.reachable).map(\.location),
                maintenance: maintenance.contains(report.name)))
            for vm in inventory.vms where vm.state != VMInfo.State.incoming.rawValue {
                vms.append(VM(
                    name: vm.name, host: report.name, memoryBytes: vm.memoryBytes, vcpus: vm.vcpus,
                    cpuModel: vm.cpuModel ?? "", machineType: vm.machineType ?? "", disks: vm.disks ?? [],
                    lastMovedAt: lastMovedAt[vm.name], state: vm.state))
            }
        }
    }

    private static func unrunnable(_ qemu: QEMUInventory?) -> [String: [String]]? {
        let models = (qemu?.cpuModels ?? []).filter { !$0.runnable }
        return models.isEmpty ? nil : Dictionary(models.map { ($0.name, $0.unavailableFeatures) }, uniquingKeysWith: { a, _ in a })
    }
}
