import Foundation
import Shared

/// Disk images through qemu-img, which reaches `nfs://` images itself (the
/// block-nfs driver), so no NFS mount is needed on the host.
struct DiskImages: Sendable {
    var qemuImg = "qemu-img"

    enum DiskError: Error, CustomStringConvertible {
        case missing(String, reason: String)
        case createFailed(String, reason: String)

        var description: String {
            switch self {
            case .missing(let location, let reason): "disk \(location) does not exist and the spec gives no size to create it (\(reason))"
            case .createFailed(let location, let reason): "cannot create disk \(location): \(reason)"
            }
        }
    }

    func exists(_ disk: VMSpec.Disk) async -> (Bool, String) {
        guard let out = try? await ProcessRunner.run(qemuImg, ["info", "--output=json", disk.location], timeout: 30) else {
            return (false, "qemu-img did not run")
        }
        return (out.status == 0, Self.lastLine(out.stderrText))
    }

    /// Makes sure the image exists; true when this call created it.
    func ensure(_ disk: VMSpec.Disk) async throws -> Bool {
        let (present, reason) = await exists(disk)
        if present { return false }
        guard let size = disk.size else { throw DiskError.missing(disk.location, reason: reason) }
        let out = try await ProcessRunner.run(
            qemuImg, ["create", "-q", "-f", disk.format, disk.location, "\(size.bytes)"], timeout: 60)
        guard out.status == 0 else { throw DiskError.createFailed(disk.location, reason: Self.lastLine(out.stderrText)) }
        return true
    }

    /// Removes an image Ferry created; false when it could not.
    func remove(_ location: String) async -> Bool {
        if location.hasPrefix("/") { return (try? FileManager.default.removeItem(atPath: location)) != nil }
        return await removeOverNFS(location)
    }

    static func lastLine(_ text: String) -> String {
        text.split(separator: "\n").last.map(String.init) ?? ""
    }
}
