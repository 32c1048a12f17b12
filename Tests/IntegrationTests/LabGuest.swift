import Foundation
import Shared

/// Specs for lab guests: the lab's kernel and initramfs, a disk on the lab's
/// NFS export, and a NIC on the host's br0 with an address of its own.
struct LabGuest {
    var name: String
    /// Last octet of the guest's address, 198.51.100.X (101-199 are guests').
    var octet: Int
    var dirtyMiB = 16
    var dirtyRate = 1000
    var memory = "262136k"
    var cpuModel = "qemu64"
    var withDisk = true
    var withNIC = true
    /// A disk at this path (a `local` pool image) instead of one on NFS.
    var diskPath: String?
    /// More `ferry.*` settings for the workload (guest/README.md).
    var extraCmdline = ""

    var address: String { "198.51.100.\(octet)" }
    var diskURL: String { "nfs://198.51.100.2/ferry/\(name).qcow2" }

    func yaml(labDir: String) -> String {
        var text = """
            name: "\(name)"
            vcpus: 1
            memory: \(memory)
            cpuModel: \(cpuModel)
            machineType: pc-i440fx-7.2
            boot:
              kernel: \(labDir)/guest/vmlinux
              initrd: \(labDir)/guest/initramfs.gz
              cmdline: "console=ttyS0 quiet panic=-1 ferry.name=\(name) ferry.dirty_mib=\(dirtyMiB) ferry.dirty_rate=\(dirtyRate) ferry.ip=\(address)/24\(withDisk ? " ferry.disk=/dev/vda" : "")\(extraCmdline.isEmpty ? "" : " " + extraCmdline)"

            """
        if withDisk {
            text += diskPath.map { "disks:\n  - {path: \"\($0)\", format: qcow2, size: 32M}\n" } ?? "disks:\n  - {url: \"\(diskURL)\", format: qcow2, size: 32M}\n"
        }
        if withNIC { text += "nics:\n  - {bridge: br0, mac: \"52:54:00:00:01:\(String(format: "%02x", octet % 256))\"}\n" }
        return text
    }

    func writeSpec(labDir: String) throws -> String {
        // In the lab's folder, not /tmp: nothing is left behind once the lab is gone.
        let dir = labDir + "/specs/tests"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/\(name)-\(UUID().uuidString.prefix(8)).yaml"
        try yaml(labDir: labDir).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

extension Lab {
    nonisolated func vmDetails(_ name: String) async throws -> VMDetails {
        let out = try await coord(["vm", "show", name, "--json"])
        guard out.status == 0 else { throw LabFailure("coord vm show \(name) failed: \(out.stderrText)") }
        return try AgentProtocol.decoder().decode(VMDetails.self, from: Data(out.stdout))
    }

    /// Waits until the guest's heartbeat passes `beyond`; returns the details then.
    nonisolated func waitForHeartbeat(_ name: String, beyond: UInt64 = 0, timeout: Duration = .seconds(120)) async throws -> VMDetails {
        let deadline = ContinuousClock.now + timeout
        var last: VMDetails?
        while ContinuousClock.now < deadline {
            let details = try await vmDetails(name)
            last = details
            if let beat = details.guest.lastHeartbeat, beat > beyond { return details }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw LabFailure("\(name): no heartbeat beyond \(beyond) within \(timeout) (last: \(String(describing: last?.guest)))")
    }

    /// Removes a VM whatever state it is in (test cleanup).
    nonisolated func removeVM(_ name: String) async {
        for _ in 1...2 {
            _ = try? await coord(["vm", "kill", name])
            if (try? await coord(["vm", "delete", name]))?.status == 0 { return }
            // Held by a migration a test interrupted: settle it, then again.
            _ = try? await coord(["recover"])
        }
    }

    nonisolated func vmNames() async throws -> [String] {
        struct Output: Decodable { struct Row: Decodable { var name: String; var host: String }; var vms: [Row] }
        let out = try await coord(["vms", "--json"])
        return try AgentProtocol.decoder().decode(Output.self, from: Data(out.stdout)).vms.map(\.name)
    }
}
