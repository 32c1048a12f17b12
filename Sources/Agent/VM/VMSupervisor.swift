import Foundation
import Logging
import Shared

/// Defines, starts, stops and watches this host's QEMU guests.
///
/// QEMU runs daemonized with its pidfile and QMP socket in the VM's folders,
/// so guests outlive the agent; a restarted agent finds them again from
/// those files (`recover`). One operation at a time per VM: a second one is
/// refused as busy rather than interleaved.
actor VMSupervisor {
    let config: AgentConfig
    let logger: Logger
    let host: HostFacts
    let disks = DiskImages()
    let qmpGate = QMPGate()
    var records: [String: VMRecord] = [:]
    var busy: [String: String] = [:]

    init(config: AgentConfig, logger: Logger, host: HostFacts) {
        self.config = config
        self.logger = logger
        self.host = host
    }

    func paths(_ name: String) -> VMPaths { VMPaths(name: name, config: config) }

    /// Reads every VM folder back after a start of the agent.
    func recover() {
        let folder = config.stateDir + "/vms"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        for name in names.sorted() where VMName.problem(name) == nil {
            do {
                records[name] = try VMRecord.load(paths(name))
                let pid = QEMUProcess.pid(for: paths(name))
                logger.info("found VM", metadata: ["vm": "\(name)", "pid": "\(pid.map(String.init) ?? "none")"])
            } catch {
                logger.error("unreadable VM record; left alone", metadata: ["vm": "\(name)", "error": "\(error)"])
            }
        }
    }

    // MARK: Reading

    func list() -> [VMInfo] {
        records.sorted { $0.key < $1.key }.map { info($0.key, $0.value) }
    }

    /// The inventory's view of every VM.
    func summaries() -> [VMSummary] {
        records.sorted { $0.key < $1.key }.map { name, record in
            let vm = info(name, record)
            return VMSummary(
                name: name, state: vm.state.rawValue, memoryBytes: vm.memoryBytes, vcpus: vm.vcpus, pid: vm.pid,
                cpuModel: record.spec.cpuModel, machineType: record.spec.machineType, disks: record.spec.disks.map(\.location))
        }
    }

    /// Memory held by this host's VMs, running or defined, with QEMU's overhead.
    func committedBytes() -> UInt64 {
        records.values.reduce(0) { $0 + $1.spec.footprintBytes }
    }

    /// The VM as listed now; throws `notFound` if it went away meanwhile.
    func info(_ name: String) throws -> VMInfo {
        info(name, try existing(name))
    }

    private func info(_ name: String, _ record: VMRecord) -> VMInfo {
        let pid = QEMUProcess.pid(for: paths(name))
        var state: VMInfo.State = pid != nil ? .running : (record.expectedRunning ? .crashed : .stopped)
        switch record.migration?.role {
        case .incoming: state = .incoming
        case .outgoing where pid != nil: state = .migrating
        default: break
        }
        return VMInfo(
            name: name, host: config.name, state: state, pid: pid, vcpus: record.spec.vcpus,
            memoryBytes: record.spec.memory.bytes, cpuModel: record.spec.cpuModel, machineType: record.spec.machineType,
            startedAt: pid != nil ? record.startedAt : nil)
    }

    func show(_ name: String) async throws -> VMDetails {
        let record = try existing(name)
        var details = VMDetails(
            info: info(name, record), spec: record.spec, qemuStatus: nil, consolePath: paths(name).console,
            consoleModifiedAtEpoch: Self.modificationEpoch(paths(name).console),
            guest: GuestConsole.status(of: consoleTail(name, bytes: 256 << 10)))
        details.createdDisks = record.createdDisks
        if details.info.pid != nil, busy[name] == nil {
            details.qemuStatus = try? await withQMP(name, timeout: .seconds(3), queue: .zero) { try await $0.runState().rawValue }
        }
        return details
    }

    func console(_ params: VMConsoleParams) throws -> VMConsoleChunk {
        _ = try existing(params.name)
        guard let handle = FileHandle(forReadingAtPath: paths(params.name).console) else {
            return VMConsoleChunk(text: "", offset: 0, nextOffset: 0)
        }
        defer { try? handle.close() }
        let size = Int64(try handle.seekToEnd())
        let start = params.offset < 0 ? max(0, size + params.offset) : min(params.offset, size)
        try handle.seek(toOffset: UInt64(start))
        let data = try handle.read(upToCount: max(0, min(params.maxBytes, 4 << 20))) ?? Data()
        return VMConsoleChunk(text: String(decoding: data, as: UTF8.self), offset: start, nextOffset: start + Int64(data.count))
    }

    func consoleTail(_ name: String, bytes: Int) -> String {
        (try? console(VMConsoleParams(name: name, offset: -Int64(bytes), maxBytes: bytes)).text) ?? ""
    }

    // MARK: Changing

    func create(_ spec: VMSpec, start: Bool) async throws -> VMInfo {
        let problems = spec.problems()
        guard problems.isEmpty else {
            throw AgentError(.invalidParams, "invalid VM spec: " + problems.map(\.description).joined(separator: "; "))
        }
        guard records[spec.name] == nil, busy[spec.name] == nil else {
            throw AgentError(.conflict, "a VM named \(spec.name) already exists on \(config.name)")
        }
        busy[spec.name] = "creating"
        defer { busy[spec.name] = nil }
        try await checkFits(spec)

        var created: [String] = []
        do {
            for disk in spec.disks where try await disks.ensure(disk) {
                created.append(disk.location)
            }
            let record = VMRecord(spec: spec, createdDisks: created, startedAt: nil)
            try record.save(paths(spec.name))
            records[spec.name] = record
        } catch {
            // Undo what this call made: nothing is left of a failed create.
            for location in created { _ = await disks.remove(location) }
            try? FileManager.default.removeItem(atPath: paths(spec.name).stateDir)
            throw error as? AgentError ?? AgentError(.unavailable, "\(error)")
        }
        logger.info("VM defined", metadata: ["vm": "\(spec.name)", "createdDisks": "\(created)"])
        guard start else { return try info(spec.name) }
        busy[spec.name] = nil
        do {
            return try await self.start(spec.name)
        } catch {
            // A create that cannot start leaves nothing behind either.
            records[spec.name] = nil
            for location in created { _ = await disks.remove(location) }
            try? FileManager.default.removeItem(atPath: paths(spec.name).stateDir)
            throw error
        }
    }

    func start(_ name: String) async throws -> VMInfo {
        let record = try existing(name)
        if QEMUProcess.pid(for: paths(name)) != nil { return try info(name) }
        try claim(name, for: "starting")
        defer { busy[name] = nil }
        try await launch(record.spec, mode: .boot)
        records[name]?.startedAt = Date()
        records[name]?.expectedRunning = true
        try records[name]?.save(paths(name))
        return try info(name)
    }

    func stop(_ name: String, timeout: Double) async throws -> VMStopResult {
        _ = try existing(name)
        guard let pid = QEMUProcess.pid(for: paths(name)) else {
            try markStopped(name)
            return VMStopResult(vm: try info(name), how: .alreadyStopped)
        }
        try claim(name, for: "stopping")
        defer { busy[name] = nil }
        // The guest gets its ACPI power button; QEMU exits when it powers off.
        _ = try? await withQMP(name, timeout: .seconds(5)) { try await $0.systemPowerdown() }
        var how = VMStopResult.How.poweredOff
        if !(await QEMUProcess.waitForExit(pid, timeout: .seconds(timeout))) {
            how = .forced
            _ = try? await withQMP(name, timeout: .seconds(5)) { try await $0.quit() }
            if !(await QEMUProcess.waitForExit(pid, timeout: .seconds(5))) {
                QEMUProcess.kill(pid)
                guard await QEMUProcess.waitForExit(pid, timeout: .seconds(10)) else {
                    // Never report a VM stopped while its QEMU may still run.
                    throw AgentError(.unavailable, "QEMU pid \(pid) of \(name) survived ACPI, quit and SIGKILL; it is still listed as running")
                }
            }
        }
        try markStopped(name)
        logger.info("VM stopped", metadata: ["vm": "\(name)", "how": "\(how)"])
        return VMStopResult(vm: try info(name), how: how)
    }

    func kill(_ name: String) async throws -> VMInfo {
        _ = try existing(name)
        try claim(name, for: "killing")
        defer { busy[name] = nil }
        if let pid = QEMUProcess.pid(for: paths(name)) {
            QEMUProcess.kill(pid)
            guard await QEMUProcess.waitForExit(pid, timeout: .seconds(10)) else {
                throw AgentError(.unavailable, "QEMU pid \(pid) of \(name) survived SIGKILL for 10 s")
            }
        }
        try markStopped(name)
        logger.info("VM killed", metadata: ["vm": "\(name)"])
        return try info(name)
    }

    func delete(_ name: String, keepDisks: Bool) async throws -> VMDeleteResult {
        let record = try existing(name)
        guard QEMUProcess.pid(for: paths(name)) == nil else {
            throw AgentError(.conflict, "\(name) is running on \(config.name); stop it first (coord vm stop \(name))")
        }
        try claim(name, for: "deleting")
        defer { busy[name] = nil }
        var removed: [String] = [], kept: [String] = []
        for disk in record.spec.disks.map(\.location) {
            if !keepDisks, record.createdDisks.contains(disk), await disks.remove(disk) {
                removed.append(disk)
            } else {
                kept.append(disk)
            }
        }
        try FileManager.default.removeItem(atPath: paths(name).stateDir)
        try? FileManager.default.removeItem(atPath: paths(name).qmpSocket)
        records[name] = nil
        logger.info("VM deleted", metadata: ["vm": "\(name)", "removedDisks": "\(removed)"])
        return VMDeleteResult(removedDisks: removed, keptDisks: kept)
    }

    // MARK: Helpers

    /// A file's mtime with its nanoseconds, seconds since 1970.
    static func modificationEpoch(_ path: String) -> Double? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
    }

    func existing(_ name: String) throws -> VMRecord {
        if let problem = VMName.problem(name) { throw AgentError(.invalidParams, problem.description) }
        guard let record = records[name] else { throw AgentError(.notFound, "no VM named \(name) on \(config.name)") }
        return record
    }

    func claim(_ name: String, for operation: String) throws {
        if let current = busy[name] { throw AgentError(.conflict, "\(name) is busy \(current); try again when it is done") }
        if let mark = records[name]?.migration {
            throw AgentError(
                .conflict,
                "\(name) is held by migration \(mark.id) (\(mark.role == .incoming ? "incoming from" : "outgoing to") \(mark.peer)); settle it with coord recover")
        }
        busy[name] = operation
    }

    private func markStopped(_ name: String) throws {
        records[name]?.expectedRunning = false
        records[name]?.startedAt = nil
        try records[name]?.save(paths(name))
    }

    /// Refuses a VM this host cannot run, before anything is made for it.
    func checkFits(_ spec: VMSpec) async throws {
        let facts = await host.facts()
        let socketPath = paths(spec.name).qmpSocket
        guard socketPath.utf8.count <= VMPaths.maxSocketPath else {
            throw AgentError(.invalidParams, "QMP socket path \(socketPath) is longer than \(VMPaths.maxSocketPath) bytes; use a shorter VM name or agent socket folder")
        }
        if let qemu = facts.qemu {
            guard let model = qemu.cpuModels.first(where: { $0.name == spec.cpuModel }) else {
                throw AgentError(.invalidParams, "CPU model \(spec.cpuModel) is unknown to QEMU \(qemu.version) on \(config.name)")
            }
            guard model.runnable else {
                throw AgentError(.unavailable, "CPU model \(spec.cpuModel) cannot run on \(config.name): it lacks \(model.unavailableFeatures.joined(separator: ", "))")
            }
            guard qemu.machineTypes.contains(where: { $0.name == spec.machineType }) else {
                throw AgentError(.invalidParams, "machine type \(spec.machineType) is not offered by QEMU \(qemu.version) on \(config.name)")
            }
        }
        let needed = spec.footprintBytes
        guard facts.memory.availableBytes >= needed else {
            throw AgentError(.unavailable, "\(config.name) has \(facts.memory.availableBytes >> 20) MiB free for guests; \(spec.name) needs \(needed >> 20) MiB (guest RAM plus QEMU's overhead)")
        }
        for nic in spec.nics where !FileManager.default.fileExists(atPath: "/sys/class/net/\(nic.bridge)/bridge") {
            throw AgentError(.unavailable, "bridge \(nic.bridge) does not exist on \(config.name)")
        }
    }
}

/// What the supervisor needs to know about its host, from the inventory.
protocol HostFacts: Sendable {
    func facts() async -> (accelerator: AcceleratorStatus, qemu: QEMUInventory?, memory: MemoryInventory)
}
