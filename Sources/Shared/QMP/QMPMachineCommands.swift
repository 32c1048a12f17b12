/// Typed commands about the VM and the QEMU binary.
extension QMPClient {
    public func queryStatus() async throws -> QMP.StatusInfo {
        try await execute("query-status", returning: QMP.StatusInfo.self)
    }

    /// The VM's run state, e.g. `.running`, `.paused`, `.inmigrate`, `.postmigrate`.
    public func runState() async throws -> QMP.RunState {
        try await queryStatus().status
    }

    public func queryVersion() async throws -> QMP.Version {
        try await execute("query-version", returning: QMP.Version.self)
    }

    /// Pauses the guest's CPUs (STOP event).
    public func stop() async throws {
        _ = try await execute("stop", returning: QMP.Empty.self)
    }

    /// Resumes the guest's CPUs (RESUME event).
    public func cont() async throws {
        _ = try await execute("cont", returning: QMP.Empty.self)
    }

    /// Asks the guest to shut down (ACPI power button); the guest may ignore it.
    public func systemPowerdown() async throws {
        _ = try await execute("system_powerdown", returning: QMP.Empty.self)
    }

    /// Ends QEMU at once. QEMU may close the socket before its reply
    /// arrives, so a closed connection counts as success.
    public func quit() async throws {
        do {
            _ = try await execute("quit", returning: QMP.Empty.self)
        } catch QMP.ClientError.connectionClosed {
            return
        }
    }

    /// CPU models this QEMU knows, each with the features this host lacks.
    public func queryCPUDefinitions() async throws -> [QMP.CPUDefinition] {
        try await execute("query-cpu-definitions", returning: [QMP.CPUDefinition].self)
    }

    public func queryMachines() async throws -> [QMP.MachineInfo] {
        try await execute("query-machines", returning: [QMP.MachineInfo].self)
    }
}
