import Foundation

/// Runs a program to completion with a deadline, capturing its output.
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

    /// Runs `executable` (a path, or a name looked up in PATH) with `arguments`.
    /// `stop` is asked about the output so far and can end the run early (the
    /// process is then killed), for probes that wait for one line.
    public static func run(
        _ executable: String, _ arguments: [String], stdin: [UInt8] = [], timeout: Double,
        stopWhen stop: (@Sendable ([UInt8]) -> Bool)? = nil
    ) async throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try resolve(executable))
        process.arguments = arguments
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        process.standardInput = inPipe
        process.standardOutput = outPipe
        process.standardError = errPipe

        let collected = OutputCollector(stop: stop)
        let exited = AsyncStream.makeStream(of: Int32.self)
        process.terminationHandler = { exited.continuation.yield($0.terminationStatus); exited.continuation.finish() }
        do {
            try process.run()
        } catch {
            throw RunError.launchFailed(executable: executable, reason: error.localizedDescription)
        }
        let pid = process.processIdentifier

        let readers = DispatchGroup()
        collected.drain(outPipe.fileHandleForReading, into: \.stdout, pid: pid, group: readers)
        collected.drain(errPipe.fileHandleForReading, into: \.stderr, pid: nil, group: readers)
        if !stdin.isEmpty { try? inPipe.fileHandleForWriting.write(contentsOf: Data(stdin)) }
        try? inPipe.fileHandleForWriting.close()

        let killer = Task {
            try await Task.sleep(for: .seconds(timeout))
            collected.markTimedOut()
            kill(pid, SIGKILL)
        }
        var status: Int32 = -1
        for await code in exited.stream { status = code }
        killer.cancel()
        await withCheckedContinuation { done in readers.notify(queue: .global()) { done.resume() } }
        return collected.output(status: status)
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

/// Gathers a process's output from reader threads. A lock, not an actor:
/// the readers are blocking threads, not tasks.
private final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var output = ProcessRunner.Output(status: -1, stdout: [], stderr: [], timedOut: false)
    private let stop: (@Sendable ([UInt8]) -> Bool)?

    init(stop: (@Sendable ([UInt8]) -> Bool)?) { self.stop = stop }

    func markTimedOut() { lock.withLock { output.timedOut = true } }

    func output(status: Int32) -> ProcessRunner.Output {
        lock.withLock {
            output.status = status
            return output
        }
    }

    /// Reads a pipe to its end on its own thread; with `pid`, kills the
    /// process once `stop` is satisfied by what was read.
    func drain(_ handle: FileHandle, into field: WritableKeyPath<ProcessRunner.Output, [UInt8]> & Sendable, pid: Int32?, group: DispatchGroup) {
        group.enter()
        Thread.detachNewThread { [self] in
            defer { group.leave() }
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                let shouldStop: Bool = lock.withLock {
                    output[keyPath: field].append(contentsOf: chunk)
                    return pid != nil && (stop?(output[keyPath: field]) ?? false)
                }
                if shouldStop, let pid { kill(pid, SIGKILL) }
            }
        }
    }
}
