import Foundation
import Shared

/// Copies a local disk image from the source host to the same path on the
/// target, through the coordinator's SSH links to the two agents, and has
/// the target check the SHA-256 before the copy becomes a disk. The guest is
/// paused (its block layer flushed) before this runs.
struct DiskCopier: Sendable {
    let source: AgentClient
    let target: AgentClient
    let chunkBytes = 1 << 20

    /// Returns the source's digest once the target holds an identical copy.
    func copy(_ location: String, progress: @Sendable (UInt64, UInt64) -> Void) async throws -> DiskDigestResult {
        let digest = try await source.call(AgentMethods.DiskDigest.self, DiskRef(location: location), timeout: 600)
        var offset: UInt64 = 0
        while true {
            let chunk = try await source.call(AgentMethods.DiskRead.self, DiskReadParams(location: location, offset: offset, length: chunkBytes), timeout: 60)
            if !chunk.data.isEmpty || offset == 0 {
                _ = try await target.call(AgentMethods.DiskWrite.self, DiskWriteParams(location: location, offset: offset, data: chunk.data), timeout: 60)
            }
            offset += UInt64(chunk.data.count)
            progress(offset, digest.sizeBytes)
            if chunk.eof { break }
        }
        guard offset == digest.sizeBytes else {
            throw MigrationError.failed("\(location) changed size while it was copied (\(offset) of \(digest.sizeBytes) bytes)")
        }
        return try await target.call(
            AgentMethods.DiskCommit.self, DiskCommitParams(location: location, sha256: digest.sha256, sizeBytes: digest.sizeBytes), timeout: 600)
    }
}
