import Foundation
import Logging
import ServiceLifecycle
import Shared

/// Keeps what the agent knows about its host: probes QEMU and the
/// accelerator once at start, samples CPU use every few seconds, and builds
/// an inventory on demand from that plus fresh /proc readings.
actor InventoryService: Service {
    private let config: AgentConfig
    private let events: EventBus
    private let logger: Logger
    private let sampleInterval: Duration
    /// Also serves the storage methods (AgentAPI+Storage).
    nonisolated let storage: StoragePools

    private var accelerator = AcceleratorStatus(kind: .probing, kvmDevicePresent: false, kvmBootsGuest: nil, detail: "probe running")
    private var qemu: QEMUInventory?
    private var qemuError: String? = "probe running"
    private var lastCPUTimes: ProcFiles.CPUTimes?
    private var utilisation = 0.0
    private var vms: VMSupervisor?

    init(
        config: AgentConfig, events: EventBus, logger: Logger, sampleInterval: Duration = .seconds(5),
        storage: StoragePools = StoragePools(pools: [])
    ) {
        self.config = config
        self.storage = storage
        self.events = events
        self.logger = logger
        self.sampleInterval = sampleInterval
    }

    func run() async throws {
        lastCPUTimes = Self.readCPUTimes()
        // A shutdown cancels a probe under way (its QEMU is killed with it).
        try? await cancelWhenGracefulShutdown {
            await self.probe()
            while !Task.isCancelled {
                try await Task.sleep(for: self.sampleInterval)
                await self.sampleCPU()
            }
        }
    }

    /// Runs both probes; the capability probe needs the accelerator's answer.
    /// The accelerator stays `probing` until both are done, so a reader that
    /// sees a settled accelerator also sees QEMU's capabilities.
    func probe() async {
        var status = await AcceleratorProbe(qemuBinary: config.qemuBinary, choice: config.accelerator).run()
        logger.info("accelerator probe done", metadata: ["kind": "\(status.kind)", "detail": "\(status.detail)"])
        do {
            let probe = QEMUCapabilityProbe(qemuBinary: config.qemuBinary, accelerator: status.kind, cpuLevel: config.cpuLevel)
            let result = try await probe.run()
            qemu = result.inventory
            // An unusable CPU level leaves QEMU's answers in place, every model masked, and says why.
            qemuError = result.problem
            if let warning = result.warning { logger.warning("qemu probe incomplete", metadata: ["warning": "\(warning)"]) }
            if let problem = result.problem { logger.error("cpu level unusable", metadata: ["error": "\(problem)"]) }
            logger.info("qemu probe done", metadata: [
                "version": "\(qemu?.version ?? "?")", "cpuLevel": "\(config.cpuLevel ?? "none")",
                "runnableModels": "\(qemu?.runnableCPUModels.count ?? 0)",
            ])
        } catch {
            qemu = nil
            qemuError = "\(error)"
            if status.kind != .kvm { status.kind = .none }
            logger.error("qemu probe failed", metadata: ["error": "\(error)"])
        }
        accelerator = status
        await events.publish(.inventoryChanged, InventoryChangedEvent(reason: "probes finished"))
    }

    /// The supervisor whose VMs count against this host's memory.
    func attach(_ supervisor: VMSupervisor) { vms = supervisor }

    func inventory() async -> HostInventory {
        let cpu = ProcFiles.parseCPUInfo(Self.read("/proc/cpuinfo") ?? "")
        let load = ProcFiles.parseLoadAverage(Self.read("/proc/loadavg") ?? "") ?? LoadAverage(one: 0, five: 0, fifteen: 0)
        let guests = await vms?.summaries() ?? []
        return HostInventory(
            host: config.name, agentVersion: FerryVersion.current,
            cpu: CPUInventory(vendor: cpu.vendor, model: cpu.model, flags: cpu.flags, count: cpu.count, utilisation: utilisation),
            memory: await memory(), load: load, qemu: qemu, qemuError: qemuError, accelerator: accelerator,
            storagePools: storage.statuses(),
            vms: guests,
            collectedAt: Date())
    }

    func memory() async -> MemoryInventory {
        let machine = ProcFiles.parseMemInfo(Self.read("/proc/meminfo") ?? "") ?? .init(totalBytes: 0, availableBytes: 0)
        return Self.offeredMemory(machine: machine, capMiB: config.memoryMiB, committedBytes: await vms?.committedBytes() ?? 0)
    }

    /// Memory offered to guests: the machine's, capped by the config, less
    /// what this agent's guests already hold.
    static func offeredMemory(machine: ProcFiles.MemInfo, capMiB: UInt64?, committedBytes: UInt64) -> MemoryInventory {
        let total = min(capMiB.map { $0 << 20 } ?? machine.totalBytes, machine.totalBytes)
        let unclaimed = total > committedBytes ? total - committedBytes : 0
        return MemoryInventory(totalBytes: total, availableBytes: min(machine.availableBytes, unclaimed))
    }

    private func sampleCPU() {
        guard let now = Self.readCPUTimes() else { return }
        if let last = lastCPUTimes { utilisation = now.utilisation(since: last) }
        lastCPUTimes = now
    }

    private static func readCPUTimes() -> ProcFiles.CPUTimes? {
        read("/proc/stat").flatMap(ProcFiles.parseCPUTimes)
    }

    private static func read(_ path: String) -> String? {
        try? String(contentsOfFile: path, encoding: .utf8)
    }
}

extension InventoryService: HostFacts {
    func facts() async -> (accelerator: AcceleratorStatus, qemu: QEMUInventory?, memory: MemoryInventory) {
        (accelerator, qemu, await memory())
    }
}
