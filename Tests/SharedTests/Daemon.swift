import Foundation
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// A long-running child process (sshd, ssh-agent, an echo server) started with
/// posix_spawn. Foundation's Process mistakes a daemon that closes inherited
/// descriptors, as sshd does, for one that exited, and then blocks reaping it,
/// which stalls every later Process; so daemons are spawned directly.
final class Daemon: @unchecked Sendable {  // `exited` is only touched by the test that owns the daemon
    let pid: pid_t
    private var exited = false

    /// stdin is /dev/null; stdout and stderr go to `logPath` (or /dev/null).
    init(_ path: String, _ arguments: [String], logPath: String? = nil) throws {
        let pid = try Spawn.start([path] + arguments, stdout: logPath.map { .file($0) } ?? .null)
        self.pid = pid
    }

    var isRunning: Bool {
        if exited { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { exited = true }
        return !exited
    }

    func stop() {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        for _ in 0..<50 where isRunning { usleep(20_000) }
        if isRunning {  // did not stop within a second
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
            exited = true
        }
    }
}
