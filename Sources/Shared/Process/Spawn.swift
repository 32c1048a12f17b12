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
}
