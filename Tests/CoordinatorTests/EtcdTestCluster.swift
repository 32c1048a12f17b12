import Foundation
import Shared
import Synchronization
@testable import Coordinator

/// Real etcd members on 127.0.0.1, on free ports, with data in a temporary
/// folder. Use `withEtcd`, which kills them whether the test passes, fails
/// or throws. Each member runs under `setpriv --pdeathsig KILL`, spawned by a
/// thread that waits for it, so not even a crashed test run leaves one behind.
final class EtcdTestCluster: Sendable {
    struct Member: Sendable {
        var name: String
        var clientURL: String
        var peerURL: String
    }

    let directory: String
    let members: [Member]
    /// Live pids by member index; a killed member's entry is removed once reaped.
    private let pids = Mutex<[Int: pid_t]>([:])

    var endpoints: [String] { members.map(\.clientURL) }

    private init(directory: String, members: [Member]) {
        self.directory = directory
        self.members = members
    }

    /// Tests run in parallel: two clusters may be handed the same "free"
    /// port between probing it and etcd binding it, so a cluster that does
    /// not come up is tried again on other ports.
    static func start(members count: Int) async throws -> EtcdTestCluster {
        var failure: (any Error)?
        for _ in 0..<3 {
            do {
                return try await startOnce(members: count)
            } catch {
                failure = error
            }
        }
        throw failure ?? EtcdTestClusterError(what: "etcd did not start")
    }

    private static func startOnce(members count: Int) async throws -> EtcdTestCluster {
        var template = Array("/tmp/ferry-etcd-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
        let ports = try freePorts(count * 2)
        let members = (0..<count).map { index in
            Member(
                name: "m\(index)", clientURL: "http://127.0.0.1:\(ports[index * 2])",
                peerURL: "http://127.0.0.1:\(ports[index * 2 + 1])")
        }
        let cluster = EtcdTestCluster(directory: String(cString: made), members: members)
        do {
            for index in members.indices { try cluster.launch(index) }
            try await cluster.waitUntilHealthy()
        } catch {
            cluster.destroy()
            throw error
        }
        return cluster
    }

    private func launch(_ index: Int) throws {
        let member = members[index]
        let initialCluster = members.map { "\($0.name)=\($0.peerURL)" }.joined(separator: ",")
        // Short heartbeats and elections: a lost leader is noticed in about half a second.
        let argv = ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--", "/usr/bin/etcd",
                    "--name", member.name, "--data-dir", "\(directory)/\(member.name)",
                    "--listen-client-urls", member.clientURL, "--advertise-client-urls", member.clientURL,
                    "--listen-peer-urls", member.peerURL, "--initial-advertise-peer-urls", member.peerURL,
                    "--initial-cluster", initialCluster, "--initial-cluster-state", "new",
                    "--initial-cluster-token", (directory as NSString).lastPathComponent,
                    "--heartbeat-interval", "50", "--election-timeout", "500",
                    "--logger", "zap", "--log-level", "warn"]
        let log = "\(directory)/\(member.name).log"
        let started = DispatchSemaphore(value: 0)
        let failure = Mutex<(any Error)?>(nil)
        // The spawning thread lives as long as the child: --pdeathsig follows the thread.
        Thread.detachNewThread { [self] in
            let pid: pid_t
            do {
                pid = try Spawn.start(argv, stdout: .file(log), newProcessGroup: true)
            } catch {
                failure.withLock { $0 = error }
                started.signal()
                return
            }
            pids.withLock { $0[index] = pid }
            started.signal()
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            pids.withLock { $0[index] = nil }
        }
        started.wait()
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// Waits until every live member follows a leader.
    func waitUntilHealthy(timeout: Duration = .seconds(15)) async throws {
        let live = pids.withLock { Set($0.keys) }
        let client = EtcdClient(endpoints: live.sorted().map { members[$0].clientURL }, requestTimeout: .seconds(1))
        let deadline = ContinuousClock.now + timeout
        var last: [EndpointHealth] = []
        while ContinuousClock.now < deadline {
            last = await client.health()
            if last.allSatisfy(\.isHealthy) { break }
            // A member that exited (its port was taken) will not come up.
            if pids.withLock({ $0.count }) < live.count { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        await client.shutdown()
        if !last.allSatisfy(\.isHealthy) {
            throw EtcdTestClusterError(what: "etcd did not become healthy: \(last.summary)\n\(logs)")
        }
    }

    /// SIGKILLs the member and waits until it is reaped.
    func kill(_ index: Int) async {
        guard let pid = pids.withLock({ $0[index] }) else { return }
        _ = Glibc.kill(-pid, SIGKILL)
        for _ in 0..<100 where pids.withLock({ $0[index] != nil }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Kills every member (without waiting) and removes the folder.
    func destroy() {
        for pid in pids.withLock({ Array($0.values) }) { _ = Glibc.kill(-pid, SIGKILL) }
        for _ in 0..<250 where !pids.withLock({ $0.isEmpty }) { usleep(20_000) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// What the members logged, for failure messages.
    var logs: String {
        members.map { member in
            let text = (try? String(contentsOfFile: "\(directory)/\(member.name).log", encoding: .utf8)) ?? ""
            return "--- \(member.name)\n" + text.suffix(2000)
        }.joined(separator: "\n")
    }

    /// Ports nothing listens on now: bound to port 0 all at once (so they
    /// differ), then released.
    static func freePorts(_ count: Int) throws -> [Int] {
        var sockets: [Int32] = []
        defer { sockets.forEach { _ = close($0) } }
        var ports: [Int] = []
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw POSIXError(.EMFILE) }
            sockets.append(fd)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                    bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
                }
            }
            guard bound else { throw POSIXError(.EADDRINUSE) }
            ports.append(Int(UInt16(bigEndian: address.sin_port)))
        }
        return ports
    }
}

struct EtcdTestClusterError: Error, CustomStringConvertible {
    var what: String
    var description: String { what }
}

/// Runs `body` with a fresh etcd cluster and a client of all its members,
/// and kills the cluster afterwards, whatever happens.
func withEtcd<T>(
    members: Int = 1, requestTimeout: Duration = .seconds(2),
    _ body: (EtcdTestCluster, EtcdClient) async throws -> T
) async throws -> T {
    let cluster = try await EtcdTestCluster.start(members: members)
    let client = EtcdClient(endpoints: cluster.endpoints, requestTimeout: requestTimeout)
    do {
        let result = try await body(cluster, client)
        await client.shutdown()
        cluster.destroy()
        return result
    } catch {
        await client.shutdown()
        cluster.destroy()
        throw error
    }
}
