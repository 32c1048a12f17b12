import Foundation
import Shared
import Testing

/// What `coord migrate --json` prints last.
struct MigrationResultLine: Decodable {
    struct Figures: Decodable {
        var setupMs: Double?
        var downtimeMsQEMU: Double?
        var downtimeMsGuest: Double?
        var totalMs: Double?
        var bytes: UInt64?
        var iterations: Int?
    }

    struct Result: Decodable {
        var id: String
        var outcome: String
        var mode: String
        var error: String?
        var runsOn: String?
        var figures: Figures
    }

    var result: Result

    /// The result line of a `coord migrate --json` run, and its plan's mode.
    static func parse(_ text: String) throws -> (result: Result, planMode: String?) {
        var result: Result?
        var mode: String?
        for line in text.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            if object["type"] as? String == "plan" { mode = object["mode"] as? String }
            if object["type"] as? String == "result" {
                result = try AgentProtocol.decoder().decode(MigrationResultLine.self, from: Data(line.utf8)).result
            }
        }
        guard let result else { throw LabFailure("no result line in coord migrate output:\n\(text)") }
        return (result, mode)
    }
}

/// `coord history --json`, the fields the tests read.
struct HistoryOutput: Decodable {
    struct Entry: Decodable {
        var id: String
        var vm: String
        var outcome: String?
        var error: String?
        var lastStep: String
    }

    var migrations: [Entry]
}

/// A `coord` started in the background, so a test can hurt things mid-way.
struct BackgroundCoord {
    let pid: pid_t
    let output: String

    static func start(_ lab: Lab, _ arguments: [String], config: String? = nil) throws -> BackgroundCoord {
        // In the lab's folder, which `scripts/lab down` clears, not in /tmp.
        try FileManager.default.createDirectory(atPath: lab.labDir + "/specs/tests", withIntermediateDirectories: true)
        let output = lab.labDir + "/specs/tests/coord-\(UUID().uuidString.prefix(8)).out"
        let pid = try Spawn.start([lab.binDir + "/coord", "--config", config ?? lab.configPath] + arguments, stdout: .file(output), stderr: .file(output + ".err"))
        return BackgroundCoord(pid: pid, output: output)
    }

    /// Waits for it to end; its exit status, or nil if it was killed.
    func wait(timeout: Duration = .seconds(300)) async throws -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                return (status & 0x7f) == 0 ? (status >> 8) & 0xff : nil
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        kill(pid, SIGKILL)
        throw LabFailure("coord \(pid) still runs after \(timeout)")
    }

    var text: String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }
    var errors: String { (try? String(contentsOfFile: output + ".err", encoding: .utf8)) ?? "" }
}

extension Lab {
    nonisolated func migrate(_ vm: String, to host: String, _ extra: [String] = []) async throws -> (status: Int32, result: MigrationResultLine.Result, planMode: String?, text: String) {
        let out = try await coord(["migrate", vm, "--to", host, "--json"] + extra, timeout: 400)
        let parsed = try MigrationResultLine.parse(out.stdoutText)
        return (out.status, parsed.result, parsed.planMode, out.stdoutText + out.stderrText)
    }

    nonisolated func history(vm: String) async throws -> [HistoryOutput.Entry] {
        let out = try await coord(["history", "--vm", vm, "--json"])
        guard out.status == 0 else { throw LabFailure("coord history failed: \(out.stderrText)") }
        return try AgentProtocol.decoder().decode(HistoryOutput.self, from: Data(out.stdout)).migrations
    }

    /// Hosts that list the VM, from `coord vms --json`.
    nonisolated func hostsListing(_ vm: String) async throws -> [String] {
        struct Output: Decodable { struct Row: Decodable { var name: String; var host: String }; var vms: [Row] }
        let out = try await coord(["vms", "--json"])
        return try AgentProtocol.decoder().decode(Output.self, from: Data(out.stdout)).vms.filter { $0.name == vm }.map(\.host)
    }

    /// The pid in a VM's pidfile on a lab host, if its QEMU runs.
    nonisolated func qemuPID(_ vm: String, on host: String) -> pid_t? {
        guard let text = try? String(contentsOfFile: hostDir(host) + "/state/vms/\(vm)/qemu.pid", encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, 0) == 0
        else { return nil }
        return pid
    }

    /// After a migration, wherever it ended: the VM is defined on exactly
    /// `host`, its QEMU runs nowhere else, and its guest is alive and whole.
    nonisolated func expectRunsOnlyOn(_ vm: String, _ host: String, beyond: UInt64, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        #expect(try await hostsListing(vm) == [host], "\(vm) should be listed on \(host) only", sourceLocation: sourceLocation)
        for other in hostNames where other != host {
            #expect(qemuPID(vm, on: other) == nil, "a QEMU of \(vm) is left on \(other)", sourceLocation: sourceLocation)
        }
        let details = try await waitForHeartbeat(vm, beyond: beyond + 50, timeout: .seconds(60))
        #expect(details.info.host == host && details.info.state == .running, sourceLocation: sourceLocation)
        #expect(details.guest.intact, "guest on \(host) is not intact: \(details.guest)", sourceLocation: sourceLocation)
    }

    /// Waits until every host is up with its probes done (an agent restarted
    /// by an earlier test probes QEMU again for several seconds).
    nonisolated func waitUntilSettled(timeout: Duration = .seconds(180)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let out = try await coord(["hosts", "--json"])
            if out.status == 0, let hosts = try? HostsOutput.parse(out),
               hosts.hosts.count == hostCount,
               hosts.hosts.allSatisfy({ $0.state == "up" && $0.inventory?.accelerator.kind != .probing && $0.inventory?.qemu != nil }) {
                return
            }
            try await Task.sleep(for: .seconds(1))
        }
        throw LabFailure("the lab's hosts did not settle within \(timeout)")
    }

    /// Runs `body`, then removes the VMs whatever happened.
    nonisolated func withVMs(_ names: [String], _ body: () async throws -> Void) async throws {
        for name in names { await removeVM(name) }
        do {
            try await body()
        } catch {
            for name in names { await removeVM(name) }
            throw error
        }
        for name in names { await removeVM(name) }
    }

    /// Waits for a file to appear (a pidfile on a lab host).
    nonisolated func waitForFile(_ path: String, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !FileManager.default.fileExists(atPath: path) {
            guard ContinuousClock.now < deadline else { throw LabFailure("\(path) did not appear within \(timeout)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
