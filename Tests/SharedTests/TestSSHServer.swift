import Foundation
@testable import Shared

/// A real OpenSSH sshd for tests: 127.0.0.1 on a free port, run from a temporary
/// directory holding its own host key, config, authorized_keys and log, plus a
/// client key that it accepts for root. Stop it with `stop()`.
final class TestSSHServer: @unchecked Sendable {  // used by one test at a time
    let directory: URL
    let port: Int
    private var sshd: Daemon?

    var hostKeyPath: String { directory.appendingPathComponent("host_key").path }
    var clientKeyPath: String { directory.appendingPathComponent("client_key").path }
    var knownHostsPath: String { directory.appendingPathComponent("known_hosts").path }
    var logPath: String { directory.appendingPathComponent("sshd.log").path }
    var endpoint: SSHEndpoint { SSHEndpoint(name: "testhost", address: "127.0.0.1", port: port, user: "root") }

    static func start() throws -> TestSSHServer {
        let directory = try SSHTestTools.makeTemporaryDirectory("ferry-sshd")
        for name in ["host_key", "client_key"] {
            try SSHTestTools.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", directory.appendingPathComponent(name).path])
        }
        try FileManager.default.copyItem(at: directory.appendingPathComponent("client_key.pub"),
                                         to: directory.appendingPathComponent("authorized_keys"))
        // sshd refuses to start without its privilege-separation directory.
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        var lastError: (any Error)?
        for _ in 0..<3 {  // the free port can be taken between our check and sshd's bind
            do {
                return try TestSSHServer(directory: directory, port: try SSHTestTools.freePort())
            } catch {
                lastError = error
            }
        }
        throw lastError!
    }

    private init(directory: URL, port: Int) throws {
        self.directory = directory
        self.port = port
        let path = { (name: String) in directory.appendingPathComponent(name).path }
        let config = """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(path("host_key"))
            PidFile \(path("sshd.pid"))
            AuthorizedKeysFile \(path("authorized_keys"))
            StrictModes no
            PermitRootLogin prohibit-password
            PubkeyAuthentication yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            AllowStreamLocalForwarding yes
            UsePAM no
            LogLevel VERBOSE

            """
        try config.write(toFile: path("sshd_config"), atomically: true, encoding: .utf8)
        let sshd = try Daemon("/usr/sbin/sshd", ["-D", "-e", "-f", path("sshd_config")], logPath: path("sshd.log"))
        self.sshd = sshd
        for _ in 0..<100 {
            if SSHTestTools.canConnect(port: port) { return }
            if !sshd.isRunning { break }
            usleep(50_000)
        }
        let log = self.log
        stop()
        throw SSHTestTools.ToolFailed(description: "sshd did not start: \(log)")
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// `SSHOptions` that trust nothing yet and log in with the accepted client key.
    func options(_ policy: HostKeyPolicy = .strict, identityFile: String? = nil) -> SSHOptions {
        SSHOptions(knownHostsPath: knownHostsPath, hostKeyPolicy: policy,
                   identityFile: identityFile ?? clientKeyPath, connectTimeout: 5)
    }

    /// What `ssh-keygen -lf` says the host key's fingerprint is.
    func hostKeyFingerprint() throws -> String {
        let line = try SSHTestTools.run("/usr/bin/ssh-keygen", ["-lf", hostKeyPath + ".pub"])
        return String(line.split(separator: " ")[1])
    }

    /// The known_hosts line for this server with the public key in `publicKeyPath`.
    func knownHostsLine(publicKeyPath: String? = nil) throws -> String {
        let key = try String(contentsOfFile: publicKeyPath ?? hostKeyPath + ".pub", encoding: .utf8)
        let fields = key.split(separator: " ")
        return "[127.0.0.1]:\(port) \(fields[0]) \(fields[1])\n"
    }

    /// The per-connection sshd processes (not the listener).
    var connectionProcesses: [pid_t] { sshd.map { SSHTestTools.descendants(of: $0.pid) } ?? [] }

    func stop() {
        for pid in connectionProcesses {
            kill(pid, SIGCONT)
            kill(pid, SIGKILL)
        }
        sshd?.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}
