import Foundation
import Shared

extension ClusterSnapshot {
    /// The live cluster as the planner sees it. Hosts that did not answer are
    /// left out (their VMs cannot be known); `missing` names them.
    init(reports: [HostReport], takenAt: Date = Date()) {
        self.init(takenAt: takenAt, hosts: [], vms: [])
        for report in reports {
            guard let inventory = report.inventory else { continue }
            hosts.append(Host(
                name: report.name, memoryTotalBytes: inventory.memory.totalBytes,
                memoryAvailableBytes: inventory.memory.availableBytes, cpuCount: inventory.cpu.count,
                cpuUtilisation: inventory.cpu.utilisation, cpuModels: inventory.qemu?.runnableCPUModels ?? [],
                machineTypes: inventory.qemu?.machineTypes.map(\.name) ?? [],
                storage: inventory.storagePools.filter(\.reachable).map(\.location)))
            for vm in inventory.vms {
                vms.append(VM(
                    name: vm.name, host: report.name, memoryBytes: vm.memoryBytes, vcpus: vm.vcpus,
                    cpuModel: vm.cpuModel ?? "", machineType: vm.machineType ?? "", disks: vm.disks ?? []))
            }
        }
    }
}
