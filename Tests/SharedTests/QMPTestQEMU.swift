import Foundation
import Shared

/// A real `qemu-system-x86_64` in its own temporary directory, for QMP tests.
///
/// QEMU runs under `timeout -s KILL`, so even if the test process itself
/// dies no QEMU outlives it by more than `lifetimeSeconds`. Use `withQEMU`,
/// which kills it whether the test passes, fails or throws.
final class TestQEMU: @unchecked Sendable {
    // @unchecked: `process` is only touched in `start` and `cleanUp`, which
    // tests call in sequence.
    enum Profile {
        /// No guest at all, just the QEMU binary: for capability queries.
        case machineNone
        /// A small real guest (firmware only; no disk or kernel needed).
        /// The RAM size avoids QEMU 7.2's TCG dirty-bitmap bug (LAB-FACTS.md).
        case guest(paused: Bool)
        /// A guest waiting for `migrate-incoming`.
        case incoming

        var arguments: [String] {
            switch self {
            case .machineNone:
                ["-machine", "none", "-accel", "tcg", "-nodefaults", "-nographic", "-display", "none"]
            case .guest(let paused):
                ["-machine", "pc", "-accel", "tcg", "-m", "262136k", "-nodefaults", "-display", "none"] + (paused ? ["-S"] : [])
            case .incoming:
                ["-machine", "pc", "-accel", "tcg", "-m", "262136k", "-nodefaults", "-display", "none", "-incoming", "defer"]
            }
        }
    }

    static let lifetimeSeconds = 300

    let directory: String
    let socketPath: String
    private let pidFile: String
    private let process: Process

    init(_ profile: Profile) throws {
        var template = Array("/tmp/ferry-qmp-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
        directory = String(cString: made)
        socketPath = directory + "/qmp.sock"
        pidFile = directory + "/qemu.pid"
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["-s", "KILL", "\(Self.lifetimeSeconds)", "qemu-system-x86_64"]
            + profile.arguments
            + ["-qmp", "unix:\(socketPath),server=on,wait=off", "-pidfile", pidFile]
        let log = directory + "/qemu.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardError = process.standardOutput
        try process.run()
    }

    /// QEMU's own pid (not the `timeout` wrapper's), once it wrote its pidfile.
    var qemuPID: pid_t? {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8) else { return nil }
        return pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    func signal(_ signal: Int32) {
        if let pid = qemuPID { kill(pid, signal) }
    }

    /// True once the QEMU process is gone (and reaped by its wrapper).
    var hasExited: Bool {
        guard let pid = qemuPID else { return !process.isRunning }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    /// What QEMU printed, for failure messages.
    var log: String {
        (try? String(contentsOfFile: directory + "/qemu.log", encoding: .utf8)) ?? ""
    }

    /// Kills QEMU and its wrapper, waits until both are gone, removes the directory.
    func cleanUp() async {
        signal(SIGKILL)
        if process.isRunning { process.terminate() }  // `timeout` passes SIGTERM on to QEMU.
        for _ in 0..<100 where process.isRunning || !hasExited {
            try? await Task.sleep(for: .milliseconds(50))
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Starts QEMU, connects a QMPClient, runs `body`, and always ends QEMU.
func withQEMU<T: Sendable>(
    _ profile: TestQEMU.Profile,
    _ body: (TestQEMU, QMPClient) async throws -> T
) async throws -> T {
    let qemu = try TestQEMU(profile)
    do {
        // Unit tests run in parallel (several QEMUs and etcd clusters on 2
        // cores): QEMU may take well over the default 10 s to greet.
        let client = try await QMPClient.connect(socketPath: qemu.socketPath, options: .init(connectTimeout: .seconds(60)))
        do {
            let result = try await body(qemu, client)
            await client.close()
            await qemu.cleanUp()
            return result
        } catch {
            await client.close()
            throw error
        }
    } catch {
        let log = qemu.log
        await qemu.cleanUp()
        if !log.isEmpty { print("QEMU log (\(qemu.directory)):\n\(log)") }
        throw error
    }
}
