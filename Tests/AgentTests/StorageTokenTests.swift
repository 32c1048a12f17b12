import Foundation
import Shared
import Testing
@testable import Agent

/// The shared-storage check: a token written through one view of the storage
/// is read back through the other (libnfs vs the exported directory itself).
@Suite struct StorageTokenTests {
    @Test func tokenWrittenOverNFSIsReadFromTheDirectoryAndBack() async throws {
        try await TestNFSServer.with { server in
            let other = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-pool-\(UUID())").path
            try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: other) }
            let storage = StoragePools(pools: [
                .init(name: "nfs", kind: "nfs", url: server.urlString),
                .init(name: "same", kind: "shared-path", path: server.exportPath),
                .init(name: "other", kind: "shared-path", path: other),
            ], hostName: "h1")

            let overNFS = try await storage.writeToken(pool: "nfs")
            #expect(FileManager.default.fileExists(atPath: "\(server.exportPath)/.ferry-tokens/\(overNFS.name)"))
            #expect(try await storage.readToken(pool: "same", token: overNFS))
            #expect(try await storage.readToken(pool: "nfs", token: overNFS))
            #expect(try await !storage.readToken(pool: "other", token: overNFS), "another directory is not the same storage")

            let local = try await storage.writeToken(pool: "same")
            #expect(local != overNFS && local.content.contains("from h1"))
            #expect(try await storage.readToken(pool: "nfs", token: local))

            // Same name, other content: not the same token.
            var forged = local
            forged.content = "something else\n"
            #expect(try await !storage.readToken(pool: "nfs", token: forged))

            try await storage.removeToken(pool: "nfs", token: local)
            try await storage.removeToken(pool: "same", token: overNFS)
            #expect(try await !storage.readToken(pool: "nfs", token: overNFS))
            #expect(try await !storage.readToken(pool: "same", token: local))
            try await storage.removeToken(pool: "nfs", token: local)  // already gone is fine
        }
    }

    @Test func tokenNamesCannotEscapeTheTokenDirectory() async throws {
        let storage = StoragePools(pools: [.init(name: "p", kind: "shared-path", path: "/tmp")])
        for name in ["../etc/passwd", "a/b", ".hidden", "", String(repeating: "x", count: 101)] {
            await #expect(throws: StorageError.invalidToken(name)) {
                try await storage.readToken(pool: "p", token: StorageToken(name: name, content: "x"))
            }
        }
        await #expect(throws: StorageError.unknownPool("nope")) { try await storage.writeToken(pool: "nope") }
    }

    @Test func unreachablePoolFailsWithinTheTimeout() async throws {
        let (fd, port) = try TestNFSServer.boundSocket(listening: true)
        defer { close(fd) }
        let storage = StoragePools(
            pools: [.init(name: "silent", kind: "nfs", url: "nfs://127.0.0.1/ferry?nfsport=\(port)&mountport=\(port)")],
            checkTimeout: .seconds(1))
        let start = ContinuousClock.now
        await #expect(throws: NFSError.self) { try await storage.writeToken(pool: "silent") }
        #expect(ContinuousClock.now - start < .seconds(12))  // 1 s deadline, plus slack for a loaded machine
    }
}
