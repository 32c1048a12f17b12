import Foundation

/// The coord process that holds a VM's migration lock.
///
/// `pid` alone cannot tell a dead owner from a live one: pids are reused, and
/// after a reboot a low pid is almost surely someone else. So the owner also
/// records, where the kernel tells (Linux /proc), the boot it ran in and its
/// process start time in clock ticks since boot; both are immune to the wall
/// clock being stepped, unlike `startedAt`, which is for people to read.
struct LockOwner: Codable, Sendable, Equatable {
    var pid: Int32
    var hostname: String
    var startedAt: Date
    /// /proc/sys/kernel/random/boot_id of the owner's boot, when known.
    var bootID: String?
    /// Field 22 of /proc/PID/stat (start time in ticks since boot), when known.
    var startTicks: UInt64?

    init(pid: Int32, hostname: String, startedAt: Date, bootID: String? = nil, startTicks: UInt64? = nil) {
        self.pid = pid
        self.hostname = hostname
        self.startedAt = startedAt
        self.bootID = bootID
        self.startTicks = startTicks
    }

    /// This process.
    static func current() -> LockOwner {
        let pid = getpid()
        let identity = ProcessIdentity.of(pid)
        return LockOwner(
            pid: pid, hostname: ProcessIdentity.hostname(), startedAt: identity?.startedAt ?? ProcessIdentity.fallbackStart,
            bootID: ProcessIdentity.bootID(), startTicks: identity?.startTicks)
    }

    enum Liveness: Equatable {
        case alive
        case dead(String)
        /// On another machine: this coord cannot look, so it must assume alive.
        case unknown
    }

    /// Whether this owner's process still runs, judged from this machine.
    func liveness() -> Liveness {
        guard hostname == ProcessIdentity.hostname() else { return .unknown }
        if let bootID, let now = ProcessIdentity.bootID(), bootID != now {
            return .dead("its machine has rebooted since")
        }
        if kill(pid, 0) != 0 && errno == ESRCH { return .dead("pid \(pid) no longer exists") }
        // An exited coord nobody has reaped yet (PID 1 in some containers
        // never does) still answers kill(0).
        if ProcessIdentity.isZombie(pid) { return .dead("pid \(pid) has exited (zombie)") }
        // EPERM means a process exists that we may not signal: alive unless its
        // start time shows the pid now belongs to someone else.
        if let startTicks, let now = ProcessIdentity.of(pid)?.startTicks, now != startTicks {
            return .dead("pid \(pid) now belongs to another process")
        }
        return .alive
    }

    /// The same process (not merely the same pid).
    func isSameProcess(as other: LockOwner) -> Bool {
        guard pid == other.pid, hostname == other.hostname else { return false }
        if let a = bootID, let b = other.bootID, a != b { return false }
        if let a = startTicks, let b = other.startTicks, a != b { return false }
        return true
    }

    var summary: String {
        "coord pid \(pid) on \(hostname) (started \(HistoryFormat.localTime(startedAt)))"
    }
}

/// What /proc says about a process, on Linux. Elsewhere every answer is nil
/// and liveness falls back to `kill(pid, 0)`.
enum ProcessIdentity {
    struct Identity {
        var startTicks: UInt64
        var startedAt: Date
    }

    /// Used for `startedAt` where /proc cannot say: the first time it is asked.
    static let fallbackStart = Date()

    static func of(_ pid: Int32) -> Identity? {
        guard let stat = read("/proc/\(pid)/stat"),
            let close = stat.lastIndex(of: ")")  // comm may itself hold spaces and parentheses
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); starttime is field 22.
        guard fields.count > 19, let ticks = UInt64(fields[19]) else { return nil }
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        let startedAt = bootTime().map { $0 + Double(ticks) / (hz > 0 ? hz : 100) } ?? fallbackStart
        return Identity(startTicks: ticks, startedAt: startedAt)
    }

    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].hasPrefix(" Z")
    }

    static func bootID() -> String? {
        read("/proc/sys/kernel/random/boot_id")?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func bootTime() -> Date? {
        guard let line = read("/proc/stat")?.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
            let seconds = Double(line.dropFirst("btime ".count).trimmingCharacters(in: .whitespaces))
        else { return nil }
        return Date(timeIntervalSince1970: seconds)
    }

    private static func read(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
