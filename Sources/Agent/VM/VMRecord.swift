import Foundation
import Shared

/// What the agent keeps about a VM across its own restarts, beside the spec:
/// written to the VM's state folder, read back on start.
struct VMRecord: Codable, Sendable, Equatable {
    var spec: VMSpec
    /// Disk images this agent created for the VM (deleted with it).
    var createdDisks: [String]
    var startedAt: Date?
    /// Ferry started it and has not stopped it: if QEMU is gone anyway, the
    /// VM crashed.
    var expectedRunning: Bool
    /// Set while a migration involves the VM here; survives agent restarts so
    /// nothing else touches the VM until the coordinator settles it.
    var migration: MigrationMark?

    init(spec: VMSpec, createdDisks: [String], startedAt: Date?, expectedRunning: Bool = false, migration: MigrationMark? = nil) {
        self.spec = spec
        self.createdDisks = createdDisks
        self.startedAt = startedAt
        self.expectedRunning = expectedRunning
        self.migration = migration
    }

    static func load(_ paths: VMPaths) throws -> VMRecord {
        try AgentProtocol.decoder().decode(VMRecord.self, from: Data(contentsOf: URL(fileURLWithPath: paths.record)))
    }

    func save(_ paths: VMPaths) throws {
        try FileManager.default.createDirectory(atPath: paths.stateDir, withIntermediateDirectories: true)
        // Write then rename, so a crash never leaves half a record.
        let data = try AgentProtocol.encoder().encode(self)
        let temporary = paths.record + ".tmp"
        try data.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, paths.record) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }
}

/// Which migration holds a VM on this host, and in which role.
struct MigrationMark: Codable, Sendable, Equatable {
    enum Role: String, Codable, Sendable {
        /// This host receives the VM (its QEMU was started `-incoming defer`).
        case incoming
        /// This host sends the VM.
        case outgoing
    }

    var id: String
    var role: Role
    var peer: String
    /// Outgoing only: whether the guest ran when the migration began, so a
    /// rollback knows whether to resume it.
    var guestWasRunning: Bool?
    /// Incoming only: local images copied here for this migration, removed
    /// if it is aborted.
    var copiedDisks: [String]?
}

/// A running QEMU, found from its pidfile and checked against its command
/// line, so a reused pid is never taken for the VM.
enum QEMUProcess {
    static func pid(for paths: VMPaths) -> Int32? {
        guard let text = try? String(contentsOfFile: paths.pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0,
            let cmdline = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))
        else { return nil }
        let arguments = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return arguments.contains { $0.hasPrefix("guest=\(paths.name),") } ? pid : nil
    }

    static func kill(_ pid: Int32) {
        _ = Glibc.kill(pid, SIGKILL)
    }

    static func isAlive(_ pid: Int32) -> Bool {
        guard Glibc.kill(pid, 0) == 0 else { return false }
        // A zombie still answers kill(0); its state letter says it is gone.
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return false }
        return !stat[close...].hasPrefix(") Z")
    }

    /// Waits until the process is gone; true if it went within the time.
    static func waitForExit(_ pid: Int32, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !isAlive(pid) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return !isAlive(pid)
    }
}
