import Foundation
import Shared
import Testing
@testable import Agent

/// Tokens beside a disk and disk checks, on real directories and a real NFS
/// server; and the refusals that keep them inside the pools.
@Suite struct StorageDiskMethodsTests {
    /// A fresh pool directory, removed afterwards.
    func withPool<T>(_ body: (String, StoragePools) async throws -> T) async throws -> T {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-disks-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root + "/pool/vms", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let storage = StoragePools(pools: [.init(name: "local", kind: "shared-path", path: root + "/pool")], hostName: "h1")
        return try await body(root, storage)
    }

    @Test func aTokenBesideAPathDiskIsReadBackAndRemoved() async throws {
        try await withPool { root, storage in
            let disk = root + "/pool/vms/vm1.qcow2"
            let written = try await storage.writeToken(beside: disk)
            #expect(written.pool == "local")
            #expect(FileManager.default.fileExists(atPath: root + "/pool/vms/.ferry-tokens/" + written.token.name))
            #expect(try await storage.readToken(beside: disk, token: written.token).found)
            #expect(try await storage.readToken(beside: root + "/pool/vm2.qcow2", token: written.token).found == false, "another folder")
            try await storage.removeToken(beside: disk, token: written.token)
            #expect(try await storage.readToken(beside: disk, token: written.token).found == false)
            #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/pool/vms/.ferry-tokens").isEmpty)
            // A folder that does not exist here holds no token; nothing is created for it.
            #expect(try await storage.readToken(beside: root + "/pool/nowhere/vm.qcow2", token: written.token).found == false)
            await #expect(throws: StorageError.self) { try await storage.writeToken(beside: root + "/pool/nowhere/vm.qcow2") }
            #expect(!FileManager.default.fileExists(atPath: root + "/pool/nowhere"))
        }
    }

    @Test func aPathDiskIsStatted() async throws {
        try await withPool { root, storage in
            let disk = root + "/pool/vms/vm1.img"
            try Data(count: 12345).write(to: URL(fileURLWithPath: disk))
            #expect(try await storage.checkDisk(disk) == StorageDiskStatus(pool: "local", exists: true, sizeBytes: 12345, regularFile: true))
            #expect(try await storage.checkDisk(root + "/pool/vms/missing.img") == StorageDiskStatus(pool: "local", exists: false))
            #expect(try await storage.checkDisk(root + "/pool/vms").regularFile == false)
        }
    }

    @Test func symlinksOutOfThePoolAreRefused() async throws {
        try await withPool { root, storage in
            try FileManager.default.createDirectory(atPath: root + "/outside", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: root + "/pool/escape", withDestinationPath: root + "/outside")
            await #expect(throws: StorageError.self) { try await storage.writeToken(beside: root + "/pool/escape/vm.qcow2") }
            await #expect(throws: StorageError.self) { try await storage.checkDisk(root + "/pool/escape/vm.qcow2") }
            try FileManager.default.createSymbolicLink(atPath: root + "/pool/vms/.ferry-tokens", withDestinationPath: root + "/outside")
            await #expect(throws: StorageError.self) { try await storage.writeToken(beside: root + "/pool/vms/vm.qcow2") }
            #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/outside").isEmpty, "nothing was written outside the pool")
        }
    }

    @Test func anNFSDiskIsOpenedThroughLibNFSAndItsTokenSeenInTheExport() async throws {
        try await TestNFSServer.with { server in
            let storage = StoragePools(pools: [
                .init(name: "shared", kind: "nfs", url: server.urlString),
                .init(name: "mounted", kind: "shared-path", path: server.exportPath),
            ], hostName: "h1")
            try Data(count: 4096).write(to: URL(fileURLWithPath: server.exportPath + "/vm1.qcow2"))
            let disk = server.url.appending("vm1.qcow2").description
            #expect(try await storage.checkDisk(disk) == StorageDiskStatus(pool: "shared", exists: true, sizeBytes: 4096, regularFile: true))
            #expect(try await storage.checkDisk(server.url.appending("none.qcow2").description).exists == false)

            let written = try await storage.writeToken(beside: disk)
            let mounted = server.exportPath + "/vm1.qcow2"
            #expect(try await storage.readToken(beside: mounted, token: written.token) == StorageTokenFound(pool: "mounted", found: true))
            try await storage.removeToken(beside: disk, token: written.token)
            #expect(try await storage.readToken(beside: mounted, token: written.token).found == false)
        }
    }

    @Test func theProtocolRefusesLocationsOutsideThePoolsAsInvalidParams() async throws {
        try await withPool { _, storage in
            var router = RequestRouter()
            AgentAPI.registerStorage(on: &router, storage: storage)
            let connection = AgentConnection(events: EventBus()) { _ in }
            await connection.markGreeted()
            for method in ["storage.token.write", "storage.disk.check"] {
                let line = Array(#"{"id":1,"method":"\#(method)","params":{"location":"/etc/shadow"}}"#.utf8)
                let reply = try AgentProtocol.decoder().decode(
                    ResponseEnvelope<Empty>.self, from: Data(await router.reply(to: .line(line), on: connection)))
                #expect(reply.error?.code == .invalidParams, "\(method)")
                #expect(reply.error?.message.contains("not inside any storage pool") == true, "\(reply.error?.message ?? "")")
            }
        }
    }
}
