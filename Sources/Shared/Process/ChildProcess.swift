import Foundation

/// One spawned child: its pipes, the threads that read them, and the thread
/// that spawns and reaps it. Shared state sits behind a lock because the
/// threads are plain blocking threads, not tasks.
final class ChildProcess: @unchecked Sendable {
    private let argv: [String]
    private let stdinBytes: [UInt8]
    private let stop: (@Sendable ([UInt8]) -> Bool)?
    private let lock = NSLock()
    private var output = ProcessRunner.Output(status: -1, stdout: [], stderr: [], timedOut: false)
    private var pid: pid_t = 0
    private var exited = false

    /// How long readers keep draining after the child exits; a grandchild
    /// holding the pipe open must not hold up the caller.
    static let drainGrace: Double = 2

    init(argv: [String], stdin: [UInt8], stop: (@Sendable ([UInt8]) -> Bool)?) {
        self.argv = argv
        self.stdinBytes = stdin
        self.stop = stop
    }

    func kill(timedOut: Bool) {
        lock.withLock {
            if timedOut { output.timedOut = true }
            if pid > 0 && !exited { _ = Glibc.kill(-pid, SIGKILL) }
        }
    }

    func run() async throws -> ProcessRunner.Output {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<ProcessRunner.Output, any Error>) in
            // The spawning thread waits for the child: with --pdeathsig the
            // child's "parent" is this thread, so it must live as long.
            Thread.detachNewThread { [self] in
                do {
                    done.resume(returning: try spawnAndWait())
                } catch {
                    done.resume(throwing: error)
                }
            }
        }
    }

    private func spawnAndWait() throws -> ProcessRunner.Output {
        let input = try Pipe2(), out = try Pipe2(), err = try Pipe2()
        let child: pid_t
        do {
            child = try Spawn.start(
                argv, stdin: .inherit(input.read), stdout: .inherit(out.write), stderr: .inherit(err.write), newProcessGroup: true)
        } catch {
            [input.read, input.write, out.read, out.write, err.read, err.write].forEach { _ = Glibc.close($0) }
            throw ProcessRunner.RunError.launchFailed(executable: argv[0], reason: "\(error)")
        }
        [input.read, out.write, err.write].forEach { _ = Glibc.close($0) }
        lock.withLock { pid = child }

        let readers = DispatchGroup()
        let exitedFlag = ManagedFlag()
        drain(out.read, into: \.stdout, group: readers, exited: exitedFlag, checkStop: true)
        drain(err.read, into: \.stderr, group: readers, exited: exitedFlag, checkStop: false)
        feed(input.write)

        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        lock.withLock { exited = true }
        _ = exitedFlag.set()
        _ = readers.wait(timeout: .now() + Self.drainGrace + 1)
        return lock.withLock {
            output.status = Self.exitCode(status)
            return output
        }
    }

    private func feed(_ fd: Int32) {
        let bytes = stdinBytes
        Thread.detachNewThread {
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                offset += n
            }
            Glibc.close(fd)
        }
    }

    private func drain(
        _ fd: Int32, into field: WritableKeyPath<ProcessRunner.Output, [UInt8]> & Sendable,
        group: DispatchGroup, exited: ManagedFlag, checkStop: Bool
    ) {
        group.enter()
        Thread.detachNewThread { [self] in
            defer {
                Glibc.close(fd)
                group.leave()
            }
            var buffer = [UInt8](repeating: 0, count: 65536)
            var exitSeen: ContinuousClock.Instant?
            while true {
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&pfd, 1, 200)
                if ready == 0 {
                    // Quiet pipe: give up once the child is gone and the grace has passed.
                    if exited.isSet {
                        let since = exitSeen ?? .now
                        exitSeen = since
                        if ContinuousClock.now - since > .seconds(ChildProcess.drainGrace) { return }
                    }
                    continue
                }
                if ready < 0 { if errno == EINTR { continue } else { return } }
                let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return }
                let shouldStop: Bool = lock.withLock {
                    output[keyPath: field].append(contentsOf: buffer[..<n])
                    return checkStop && (stop?(output[keyPath: field]) ?? false)
                }
                if shouldStop { kill(timedOut: false) }
            }
        }
    }

    /// The exit code, or 128 + the signal for a killed child, as shells do.
    private static func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}

/// A pipe whose ends are closed on exec (dup2 into the child clears that).
private struct Pipe2 {
    let read: Int32
    let write: Int32

    init() throws {
        var fds: [Int32] = [0, 0]
        // pipe2 is hidden behind _GNU_SOURCE; a child spawned by another
        // thread in between does not inherit an end: Spawn closes every
        // descriptor above 2 in the child.
        guard pipe(&fds) == 0 else {
            throw ProcessRunner.RunError.launchFailed(executable: "pipe", reason: String(cString: strerror(errno)))
        }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        read = fds[0]
        write = fds[1]
    }
}
