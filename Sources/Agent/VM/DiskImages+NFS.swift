import CLibNFS
import Foundation

extension DiskImages {
    /// Unlinks an `nfs://` image through libnfs (qemu-img cannot delete).
    /// Blocking libnfs calls with a timeout, run off the cooperative pool.
    func removeOverNFS(_ url: String) async -> Bool {
        await withCheckedContinuation { done in
            DispatchQueue.global().async {
                done.resume(returning: Self.unlinkBlocking(url))
            }
        }
    }

    private static func unlinkBlocking(_ url: String) -> Bool {
        guard let nfs = nfs_init_context() else { return false }
        defer { nfs_destroy_context(nfs) }
        nfs_set_timeout(nfs, 10_000)
        guard let parsed = nfs_parse_url_full(nfs, url) else { return false }
        defer { nfs_destroy_url(parsed) }
        guard nfs_mount(nfs, parsed.pointee.server, parsed.pointee.path) == 0 else { return false }
        return nfs_unlink(nfs, parsed.pointee.file) == 0
    }
}
