import Foundation
import Shared

/// Where one VM's files live on its host. State (spec, record, console) sits
/// under the agent's state folder; sockets sit beside the agent's own socket,
/// whose folder is short enough for Unix socket paths (108 bytes at most).
struct VMPaths: Sendable {
    let name: String
    let stateDir: String
    let socketDir: String

    init(name: String, config: AgentConfig) {
        self.name = name
        stateDir = config.stateDir + "/vms/" + name
        socketDir = (config.socket as NSString).deletingLastPathComponent + "/vms"
    }

    var spec: String { stateDir + "/spec.json" }
    var record: String { stateDir + "/record.json" }
    var pidFile: String { stateDir + "/qemu.pid" }
    var console: String { stateDir + "/console.log" }
    var qmpSocket: String { socketDir + "/" + name + ".qmp" }

    static let maxSocketPath = 107

    /// Tap devices are named from a hash of the VM name, so the same name
    /// (at most 15 bytes) is used on every host the VM visits.
    func tapName(nic index: Int) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return "fy" + String(format: "%08x", hash) + "-" + String(index)
    }
}
