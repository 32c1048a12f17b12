import Foundation
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// A real nfs-ganesha serving a temporary directory as `/ferry` on
/// 127.0.0.1, on ports picked for this test, for the NFS and storage tests.
/// (AgentTests uses this same file through a symlink.)
///
/// ganesha and rpcbind insist on fixed paths (/run/rpcbind.sock,
/// /var/run/ganesha, /var/lib/nfs), so both run in a private mount namespace
/// with the temp directory's own dirs bound over /run and /var/lib/nfs, as the
/// lab does. rpcbind also gets a network namespace of its own: ganesha
/// registers with it through its Unix socket, clients skip the portmapper
/// (the URL gives the NFS and MOUNT ports), and nothing takes port 111 on
/// the machine. ganesha itself stays in this network namespace, bound to
/// 127.0.0.1 only, so the test process can reach it.
final class TestNFSServer: @unchecked Sendable {  // `exited` is only touched by the owning test
    let directory: String
    let nfsPort: Int
    let mountPort: Int
    private let pid: pid_t
    private var exited = false

    /// The exported directory, as seen locally.
    var exportPath: String { "\(directory)/export" }
    var url: NFSURL { NFSURL(server: "127.0.0.1", export: "/ferry", nfsPort: nfsPort, mountPort: mountPort) }
    var urlString: String { url.description }

    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `body` with a fresh server, and stops it afterwards, failure or not.
    static func with<T>(_ body: (TestNFSServer) async throws -> T) async throws -> T {
        let server = try TestNFSServer()
        do {
            try await server.waitUntilServing()
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    private init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-nfs-\(UUID().uuidString.prefix(8))").path
        for sub in ["export", "run", "varlib", "recovery"] {
            try FileManager.default.createDirectory(atPath: "\(directory)/\(sub)", withIntermediateDirectories: true)
        }
        (nfsPort, mountPort) = try Self.twoFreePorts()
        try Self.config(directory: directory, nfsPort: nfsPort, mountPort: mountPort)
            .write(toFile: "\(directory)/ganesha.conf", atomically: true, encoding: .utf8)
        pid = try Self.spawn(["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/bash", "-c", Self.script, "nfs-fixture", directory])
    }

    deinit {
        if !exited { kill(pid, SIGTERM) }  // only if a test forgot `stop`; cannot wait here
    }

    /// Stops ganesha and rpcbind, reaps them, and deletes the directory. Waits
    /// with Task.sleep, not usleep: a blocked thread would starve other tests.
    func stop() async {
        if !exited {
            kill(pid, SIGTERM)  // the script's trap stops and reaps both daemons
            let deadline = ContinuousClock.now + .seconds(8)  // ganesha sometimes takes 3 s
            var status: Int32 = 0
            while waitpid(pid, &status, WNOHANG) == 0 {
                if ContinuousClock.now > deadline {
                    for file in ["ganesha.pid", "rpcbind.pid"] {
                        if let text = try? String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8),
                           let child = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) { kill(child, SIGKILL) }
                    }
                    kill(pid, SIGKILL)
                    _ = waitpid(pid, &status, 0)
                    break
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
            exited = true
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The log, for failure messages.
    var log: String { (try? String(contentsOfFile: "\(directory)/ganesha.log", encoding: .utf8)) ?? "(no ganesha.log)" }

    private func waitUntilServing() async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        var lastError: any Error = Failed(description: "never tried")
        while ContinuousClock.now < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                exited = true
                throw Failed(description: "ganesha exited at start; log:\n\(log.suffix(2000))")
            }
            do {
                let client = try await NFSClient.mount(url, timeout: .seconds(2))
                await client.close()
                return
            } catch {
                lastError = error
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        throw Failed(description: "ganesha did not serve within 20 s: \(lastError); log:\n\(log.suffix(2000))")
    }

    /// Runs inside the private mount namespace; $1 is the fixture directory.
    private static let script = #"""
        D=$1; PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
        mount --bind "$D/run" /run && mount --bind "$D/varlib" /var/lib/nfs || exit 1
        unshare --net rpcbind -f </dev/null >>"$D/rpcbind.log" 2>&1 &
        r=$!; g=
        echo "$r" >"$D/rpcbind.pid"
        trap 'kill $r $g 2>/dev/null; wait; exit 0' TERM INT
        for _ in $(seq 200); do [ -S /run/rpcbind.sock ] && break; sleep 0.05; done
        ganesha.nfsd -F -f "$D/ganesha.conf" -L "$D/ganesha.log" -p "$D/ganesha.pid" -N NIV_EVENT </dev/null >>"$D/ganesha.out" 2>&1 &
        g=$!
        wait "$g"
        kill "$r" 2>/dev/null; wait
        """#

    private static func config(directory: String, nfsPort: Int, mountPort: Int) -> String {
        """
        NFS_CORE_PARAM {
          Protocols = 3, 4;
          Bind_Addr = 127.0.0.1;
          NFS_Port = \(nfsPort);
          MNT_Port = \(mountPort);
          Enable_NLM = false;
          Enable_RQUOTA = false;
          Mount_Path_Pseudo = true;
        }
        NFSV4 { RecoveryRoot = \(directory)/recovery; Graceless = true; Only_Numeric_Owners = true; }
        EXPORT_DEFAULTS { Access_Type = None; }
        EXPORT {
          Export_Id = 1; Path = \(directory)/export; Pseudo = /ferry;
          Protocols = 3, 4; Transports = TCP; SecType = sys; Squash = No_Root_Squash;
          CLIENT { Clients = 127.0.0.1; Access_Type = RW; }
          FSAL { Name = VFS; }
        }
        """
    }

    /// Two ports nothing listens on (held together so they differ; a small race after, fine for tests).
    private static func twoFreePorts() throws -> (Int, Int) {
        let first = try boundSocket()
        defer { close(first.fd) }
        let second = try boundSocket()
        defer { close(second.fd) }
        return (first.port, second.port)
    }

    /// A TCP socket on 127.0.0.1 at a port the kernel picked; listening when asked
    /// (a listener that never accepts is a server that never answers).
    static func boundSocket(listening: Bool = false) throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failed(description: "socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound, !listening || listen(fd, 16) == 0 else {
            close(fd)
            throw Failed(description: "bind/listen: \(errno)")
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    private static func spawn(_ argv: [String]) throws -> pid_t {
        try Spawn.start(argv)
    }
}
