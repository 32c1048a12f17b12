import Foundation
import Shared

extension VMSupervisor {
    /// Starts QEMU for `spec` and waits until it has daemonized; attaches its
    /// taps to their bridges. On any failure QEMU is gone again.
    func launch(_ spec: VMSpec, mode: QEMUCommandLine.Mode) async throws {
        let facts = await host.facts()
        let paths = paths(spec.name)
        try FileManager.default.createDirectory(atPath: paths.stateDir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: paths.socketDir, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: paths.pidFile)
        try? FileManager.default.removeItem(atPath: paths.qmpSocket)
        let arguments = QEMUCommandLine.arguments(spec: spec, paths: paths, accelerator: facts.accelerator.kind, mode: mode)
        logger.info("starting QEMU", metadata: ["vm": "\(spec.name)", "args": "\(arguments.joined(separator: " "))"])
        // With -daemonize the first process exits once QEMU is set up; its
        // status and stderr tell whether it worked.
        let out = try await ProcessRunner.run(config.qemuBinary, arguments, timeout: 60)
        guard out.status == 0, let pid = QEMUProcess.pid(for: paths) else {
            if let pid = QEMUProcess.pid(for: paths) { QEMUProcess.kill(pid) }
            let reason = out.timedOut ? "QEMU did not finish starting within 60 s" : out.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
            throw AgentError(.unavailable, "QEMU could not start \(spec.name): \(reason.isEmpty ? "exit status \(out.status)" : reason)")
        }
        do {
            for (index, nic) in spec.nics.enumerated() {
                try await attach(tap: paths.tapName(nic: index), mac: QEMUCommandLine.tapMAC(forGuestMAC: nic.mac), to: nic.bridge)
            }
        } catch {
            QEMUProcess.kill(pid)
            _ = await QEMUProcess.waitForExit(pid, timeout: .seconds(5))
            throw error
        }
        logger.info("QEMU running", metadata: ["vm": "\(spec.name)", "pid": "\(pid)"])
    }

    /// A tap gets a fixed MAC starting fe: before it joins the bridge, as
    /// libvirt does. A Linux bridge without a MAC of its own takes the lowest
    /// of its ports' MACs; a tap with a random (lower) MAC would become the
    /// host's own address on the bridge and, when the guest left, take it
    /// away, so peers that had learnt it lose the host for up to a minute
    /// (a migration stream stalls; the lab saw exactly that).
    private func attach(tap: String, mac: String, to bridge: String) async throws {
        let steps = [["link", "set", "dev", tap, "address", mac], ["link", "set", "dev", tap, "master", bridge], ["link", "set", "dev", tap, "up"]]
        for arguments in steps {
            let out = try await ProcessRunner.run("ip", arguments, timeout: 10)
            guard out.status == 0 else {
                throw AgentError(.unavailable, "cannot attach \(tap) to bridge \(bridge): \(out.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
        }
    }

    /// Runs `body` with a QMP connection to the VM's QEMU, closed afterwards.
    /// QEMU serves one QMP client at a time, so connections are short and
    /// take turns (`QMPGate`): a request waits up to `queue` for the agent's
    /// other requests to this VM, then up to `timeout` for QEMU's greeting.
    /// The longest holder is a status long-poll (5 s, then 10 s after a
    /// switchover); 20 s in the queue plus the greeting stays within the
    /// coordinator's 30 s call timeout, so the agent says why, not a timeout.
    func withQMP<T: Sendable>(
        _ name: String, timeout: Duration, queue: Duration = .seconds(20), _ body: @Sendable (QMPClient) async throws -> T
    ) async throws -> T {
        try await qmpGate.acquire(name, within: queue)
        do {
            let client = try await QMPClient.connect(
                socketPath: paths(name).qmpSocket, options: QMPClient.Options(connectTimeout: timeout, commandTimeout: .seconds(60)),
                logger: logger)
            let result = try await withClosing(client, close: { await $0.close() }, body)
            await qmpGate.release(name)
            return result
        } catch {
            await qmpGate.release(name)
            throw error
        }
    }
}
