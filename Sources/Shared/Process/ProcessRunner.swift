import Foundation

/// Runs a program to completion with a deadline, capturing its output.
///
/// Built on `posix_spawn` and `waitpid` on a thread of its own rather than
/// Foundation's `Process`: that one learns of a child's exit through a socket
/// the child inherits, so a child that leaves a daemon behind (the lab script
/// does) is never reaped and its caller waits forever.
public enum ProcessRunner {
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: [UInt8]
        public var stderr: [UInt8]
        /// True when the deadline passed and the process was killed.
        public var timedOut: Bool

        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    public enum RunError: Error, CustomStringConvertible {
        case launchFailed(executable: String, reason: String)

        public var description: String {
            switch self {
            case .launchFailed(let executable, let reason): "cannot start \(executable): \(reason)"
            }
        }
    }

    /// Runs `executable` (a path, or a name looked up in PATH).
    ///
    /// The child leads a process group of its own; the deadline, `stopWhen`
    /// and cancellation kill the whole group. `stopWhen` is asked about the
    /// stdout so far, for probes that wait for one line. With
    /// `dieWithParent`, the child is killed if this process dies first, so a
    /// crashed agent leaves no probe behind.
    public static func run(
        _ executable: String, _ arguments: [String], stdin: [UInt8] = [], timeout: Double,
        dieWithParent: Bool = false, stopWhen stop: (@Sendable ([UInt8]) -> Bool)? = nil
    ) async throws -> Output {
        var argv = [try resolve(executable)] + arguments
        if dieWithParent { argv = ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--"] + argv }
        let child = ChildProcess(argv: argv, stdin: stdin, stop: stop)
        return try await withTaskCancellationHandler {
            let killer = Task {
                try await Task.sleep(for: .seconds(timeout))
                child.kill(timedOut: true)
            }
            defer { killer.cancel() }
            return try await child.run()
        } onCancel: {
            child.kill(timedOut: false)
        }
    }

    static func resolve(_ executable: String) throws -> String {
        if executable.contains("/") { return executable }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw RunError.launchFailed(executable: executable, reason: "not found in PATH")
    }
}
