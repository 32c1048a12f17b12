import Shared

extension DiskImages {
    /// Unlinks an `nfs://` image through libnfs (qemu-img cannot delete).
    func removeOverNFS(_ location: String) async -> Bool {
        guard let url = try? NFSURL(parsing: location), let client = try? await NFSClient.mount(url, timeout: .seconds(10)) else {
            return false
        }
        let removed = (try? await client.unlink(url.path)) != nil
        await client.close()
        return removed
    }
}
