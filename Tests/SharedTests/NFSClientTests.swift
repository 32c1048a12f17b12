import Foundation
import Testing
@testable import Shared
#if canImport(Glibc)
import Glibc
#endif

/// Against a real nfs-ganesha (TestNFSServer), and against ports where no
/// NFS server answers. Only 127.0.0.1 and 198.51.100.0/24 are ever contacted.
@Suite struct NFSClientTests {
    @Test func writeStatReadUnlinkThroughGanesha() async throws {
        try await TestNFSServer.with { server in
            let client = try await NFSClient.mount(server.url, timeout: .seconds(5))
            let content = Array("written through libnfs\n".utf8)
            let before = Date()

            try await client.write("/hello.txt", content)
            let status = try await client.stat("/hello.txt")
            #expect(status.size == UInt64(content.count) && !status.isDirectory)
            #expect(abs(status.modified.timeIntervalSince(before)) < 5)
            #expect(try await client.read("/hello.txt") == content)
            #expect(try await client.exists("/hello.txt"))
            // The server wrote it into the exported directory: same bytes locally.
            #expect(FileManager.default.contents(atPath: "\(server.exportPath)/hello.txt") == Data(content))

            // A file written locally is seen through NFS.
            try Data("local\n".utf8).write(to: URL(fileURLWithPath: "\(server.exportPath)/local.txt"))
            #expect(try await client.read("/local.txt") == Array("local\n".utf8))

            try await client.makeDirectory("/dir")
            try await client.makeDirectory("/dir")  // existing is fine
            #expect(try await client.stat("/dir").isDirectory)

            try await client.unlink("/hello.txt")
            #expect(try await !client.exists("/hello.txt"))
            #expect(!FileManager.default.fileExists(atPath: "\(server.exportPath)/hello.txt"))
            await #expect(throws: NFSError.self) { try await client.write("/local.txt", [1], exclusive: true) }
            await client.close()
        }
    }

    @Test func fileSystemSpaceMatchesTheExportedDirectory() async throws {
        try await TestNFSServer.with { server in
            let client = try await NFSClient.mount(server.url)
            let space = try await client.fileSystemSpace()
            var local = statvfs()
            #expect(statvfs(server.exportPath, &local) == 0)
            let localTotal = UInt64(local.f_blocks) * UInt64(local.f_frsize)
            #expect(space.totalBytes == localTotal)
            #expect(space.availableBytes > 0 && space.availableBytes <= space.freeBytes && space.freeBytes <= space.totalBytes)
            await client.close()
        }
    }

    @Test func missingFileIsNotFoundWithContext() async throws {
        try await TestNFSServer.with { server in
            let client = try await NFSClient.mount(server.url)
            do {
                _ = try await client.read("/nope.txt")
                Issue.record("read a file that does not exist")
            } catch let error as NFSError {
                #expect(error.kind == .notFound && error.path == "/nope.txt" && error.server == "127.0.0.1" && error.export == "/ferry")
                #expect(error.description.contains("/nope.txt"), "\(error)")
            }
            #expect(try await !client.exists("/nope.txt"))
            await client.close()
            // A closed client says so instead of touching a destroyed context.
            await #expect(throws: NFSError.self) { try await client.stat("/") }
        }
    }

    @Test func missingExportIsNamed() async throws {
        try await TestNFSServer.with { server in
            var v4 = server.url
            v4.export = "/nope"
            v4.version = 4
            let error4 = await mountError(v4, timeout: .seconds(5))
            #expect(error4?.kind == .exportNotFound, "\(String(describing: error4))")
            // NFSv3 servers answer "access denied" for an export they do not have.
            var v3 = server.url
            v3.export = "/nope"
            let error3 = await mountError(v3, timeout: .seconds(5))
            #expect(error3?.kind == .accessDenied && error3?.export == "/nope", "\(String(describing: error3))")
        }
    }

    @Test func refusedConnectionFailsFast() async throws {
        let (fd, port) = try TestNFSServer.boundSocket()  // bound, not listening: connections are refused
        defer { close(fd) }
        let url = NFSURL(server: "127.0.0.1", export: "/ferry", nfsPort: port, mountPort: port)
        let start = ContinuousClock.now
        let error = await mountError(url, timeout: .seconds(60))
        #expect(error?.kind == .connectionRefused, "\(String(describing: error))")
        // Refused means no waiting for the (60 s) deadline; the wide margin
        // allows for parallel tests loading both cores.
        #expect(ContinuousClock.now - start < .seconds(30))
    }

    @Test func silentServerTimesOutWithinTheDeadline() async throws {
        let (fd, port) = try TestNFSServer.boundSocket(listening: true)  // accepts TCP, never answers
        defer { close(fd) }
        let url = NFSURL(server: "127.0.0.1", export: "/ferry", nfsPort: port, mountPort: port)
        let start = ContinuousClock.now
        let error = await mountError(url, timeout: .seconds(1))
        let elapsed = ContinuousClock.now - start
        #expect(error?.kind == .timedOut, "\(String(describing: error))")
        // Alone this takes 1.00-1.02 s. The slack is for the whole suite on 2 cores,
        // where other tests' blocking waits delay our task's resumption.
        #expect(elapsed >= .milliseconds(900) && elapsed < .seconds(12), "\(elapsed)")
    }

    /// An address in the lab's range that no host has: whatever the network says
    /// (no route, or ARP unanswered), the mount ends within its deadline.
    @Test func absentHostEndsWithinTheDeadline() async throws {
        let url = try NFSURL(parsing: "nfs://198.51.100.254/ferry")
        let start = ContinuousClock.now
        let error = await mountError(url, timeout: .seconds(2))
        #expect(error != nil)
        #expect(ContinuousClock.now - start < .seconds(12))  // 2 s deadline; slack as above
        #expect([.timedOut, .unreachable, .connectionRefused, .other].contains(error?.kind), "\(String(describing: error))")
    }

    private func mountError(_ url: NFSURL, timeout: Duration) async -> NFSError? {
        do {
            let client = try await NFSClient.mount(url, timeout: timeout)
            await client.close()
            return nil
        } catch let error as NFSError {
            return error
        } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }
}
