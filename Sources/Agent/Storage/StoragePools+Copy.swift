import Foundation
import Shared

/// The disk copy methods (`disk.*`): only image files inside a `shared-path`
/// pool (confined as the storage methods are); NFS disks are shared, never
/// copied. Writes go to `<disk>.ferry-partial` and become the disk only
/// through `commitCopy`, after the SHA-256 matches, so a failed copy never
/// looks like a disk.
extension StoragePools {
    static let chunkLimit = 2 << 20

    func digest(_ location: String) async throws -> DiskDigestResult {
        let path = try await copyablePath(location)
        return try await Self.sha256(path)
    }

    func readChunk(_ params: DiskReadParams) async throws -> DiskChunk {
        let path = try await copyablePath(params.location)
        let length = min(max(params.length, 1), Self.chunkLimit)
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw AgentError(.notFound, "cannot open \(params.location) for reading")
        }
        defer { try? handle.close() }
        try handle.seek(toOffset: params.offset)
        let data = try handle.read(upToCount: length) ?? Data()
        return DiskChunk(data: data, eof: data.count < length)
    }

    func writeChunk(_ params: DiskWriteParams) async throws {
        let path = try await copyablePath(params.location)
        let partial = path + Self.partialSuffix
        if params.offset == 0 {
            guard !FileManager.default.fileExists(atPath: path) else {
                throw AgentError(.conflict, "\(params.location) already exists here; refusing to overwrite a disk")
            }
            let fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            guard fd >= 0 else { throw AgentError(.unavailable, "cannot create \(partial): \(String(cString: strerror(errno)))") }
            close(fd)
        }
        guard let handle = FileHandle(forWritingAtPath: partial) else {
            throw AgentError(.conflict, "no partial copy of \(params.location) to write at \(params.offset)")
        }
        defer { try? handle.close() }
        guard try handle.seekToEnd() == params.offset else {
            throw AgentError(.conflict, "the partial copy of \(params.location) does not end at \(params.offset); start the copy again")
        }
        try handle.write(contentsOf: params.data)
    }

    func commitCopy(_ params: DiskCommitParams) async throws -> DiskDigestResult {
        let path = try await copyablePath(params.location)
        let partial = path + Self.partialSuffix
        let got = try await Self.sha256(partial)
        guard got.sha256 == params.sha256, got.sizeBytes == params.sizeBytes else {
            try? FileManager.default.removeItem(atPath: partial)
            throw AgentError(.unavailable, "the copy of \(params.location) does not match the source (sha256 \(got.sha256), \(got.sizeBytes) bytes; expected \(params.sha256), \(params.sizeBytes) bytes); removed")
        }
        guard !FileManager.default.fileExists(atPath: path) else {
            throw AgentError(.conflict, "\(params.location) appeared meanwhile; refusing to overwrite it")
        }
        let fd = open(partial, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
        guard rename(partial, path) == 0 else { throw AgentError(.unavailable, "cannot rename the copy into \(path): \(String(cString: strerror(errno)))") }
        return got
    }

    func discardPartial(_ location: String) async throws {
        let path = try await copyablePath(location)
        try? FileManager.default.removeItem(atPath: path + Self.partialSuffix)
    }

    static let partialSuffix = ".ferry-partial"

    private func copyablePath(_ location: String) async throws -> String {
        let (disk, folderExists) = try await confined(location)
        guard case .path(let path) = disk.file else {
            throw AgentError(.invalidParams, "\(location) is on NFS, which every host shares; it is never copied")
        }
        guard folderExists else { throw AgentError(.notFound, "the folder of \(location) does not exist here") }
        return path
    }

    private static func sha256(_ path: String) async throws -> DiskDigestResult {
        let out = try await ProcessRunner.run("sha256sum", ["--", path], timeout: 600)
        guard out.status == 0, let hash = out.stdoutText.split(separator: " ").first else {
            throw AgentError(.unavailable, "sha256sum \(path) failed: \(out.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value ?? 0
        return DiskDigestResult(sizeBytes: size, sha256: String(hash))
    }
}
