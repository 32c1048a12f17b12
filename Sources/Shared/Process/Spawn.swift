import Foundation

/// `posix_spawn` as Ferry uses it everywhere: the child starts with no
/// blocked signals and default handlers (the spawning thread may block or
/// ignore some, and a child inheriting that would ignore SIGTERM), and
/// optionally leads a process group of its own so it can be killed whole.
public enum Spawn {
    /// Where the child's standard descriptors go.
    public enum Descriptor: Sendable {
        case null
        /// A file opened for appending (created if missing).
        case file(String)
        /// This descriptor of ours.
        case inherit(Int32)
    }

    public struct Failed: Error, CustomStringConvertible {
        public var executable: String
        public var code: Int32
        public var description: String { "cannot start \(executable): \(String(cString: strerror(code)))" }
    }

    public static func start(
        _ argv: [String], stdin: Descriptor = .null, stdout: Descriptor = .null, stderr: Descriptor? = nil,
        newProcessGroup: Bool = false
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (fd, target) in [(Int32(0), stdin), (1, stdout), (2, stderr ?? .inherit(-1))] {
            switch target {
            case .null:
                posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
            case .file(let path):
                posix_spawn_file_actions_addopen(&actions, fd, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            case .inherit(let source) where source < 0:
                // stderr left out: it goes where stdout goes.
                posix_spawn_file_actions_adddup2(&actions, 1, 2)
            case .inherit(let source):
                posix_spawn_file_actions_adddup2(&actions, source, fd)
            }
        }
        // Nothing else of ours crosses into the child. SwiftNIO opens its
        // sockets without SOCK_CLOEXEC, so without this a QEMU the agent
        // starts (a daemon that outlives it) would hold the agent's listening
        // socket, coordinators' connections and, worst, a QMP connection to
        // another VM that happened to be open: QEMU serves one QMP client at
        // a time, so that VM could never be spoken to again.
        closeOthers(&actions)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), defaults = sigset_t()
        sigemptyset(&noSignals)
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGCHLD, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if newProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, argv[0], &actions, &attributes, cArgs, environ)
        guard code == 0 else { throw Failed(executable: argv[0], code: code) }
        return pid
    }

    /// Adds "close every descriptor from 3 up" to the child's actions.
    /// glibc has had `posix_spawn_file_actions_addclosefrom_np` since 2.34,
    /// but Swift's Glibc module does not export it, so it is looked up by name;
    /// where it is missing, our descriptors are marked close-on-exec instead.
    private static func closeOthers(_ actions: inout posix_spawn_file_actions_t) {
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            let addCloseFrom = unsafeBitCast(symbol, to: AddCloseFrom.self)
            if addCloseFrom(&actions, 3) == 0 { return }
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            if let fd = Int32(name), fd > 2 { _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC) }
        }
    }
}
