import Foundation
import Shared
import Testing
@testable import Agent

/// The storage methods accept only locations inside a configured pool.
@Suite struct DiskLocationTests {
    let pools: [StoragePoolConfig] = [
        .init(name: "shared", kind: "nfs", url: "nfs://198.51.100.2/ferry?nfsport=2049"),
        .init(name: "local", kind: "shared-path", path: "/srv/images"),
    ]

    @Test func anNFSDiskResolvesToItsPoolWithThePoolsPorts() throws {
        let disk = try DiskLocation.resolve("nfs://198.51.100.2/ferry/vms/vm1.qcow2", in: pools)
        #expect(disk.pool.name == "shared")
        #expect(disk.file == .nfs(NFSURL(server: "198.51.100.2", export: "/ferry", path: "/vms/vm1.qcow2", nfsPort: 2049)))
        #expect(disk.folder == .nfs(NFSURL(server: "198.51.100.2", export: "/ferry", path: "/vms", nfsPort: 2049)))
        let top = try DiskLocation.resolve("nfs://198.51.100.2/ferry/vm1.qcow2", in: pools)
        #expect(top.folder == .nfs(NFSURL(server: "198.51.100.2", export: "/ferry", path: "/", nfsPort: 2049)))
    }

    @Test func aPathDiskResolvesToItsFolder() throws {
        let disk = try DiskLocation.resolve("/srv/images/a/vm1.qcow2", in: pools)
        #expect(disk.pool.name == "local")
        #expect(disk.file == .path("/srv/images/a/vm1.qcow2"))
        #expect(disk.folder == .sharedPath("/srv/images/a"))
    }

    @Test(arguments: [
        "nfs://198.51.100.3/ferry/vm1.qcow2",  // another server
        "nfs://198.51.100.2/other/vm1.qcow2",  // another export
        "nfs://198.51.100.2/ferry/vm1.qcow2?nfsport=2050",  // another port
        "/srv/imagesX/vm1.qcow2",  // a sibling whose name starts alike
        "/etc/shadow",
        "/srv/images",  // the pool itself
    ])
    func locationsOutsideEveryPoolAreRefused(location: String) {
        #expect {
            try DiskLocation.resolve(location, in: pools)
        } throws: { error in
            guard case StorageError.outsidePools(let refused, let known) = error else { return false }
            return refused == location && known.count == 2
        }
    }

    @Test(arguments: [
        "/srv/images/../../etc/shadow", "/srv/images/./x", "/srv/images//x", "relative/x", "nfs://198.51.100.2/ferry/../x",
        "nfs://198.51.100.2/ferry", "/srv/images/x/",
    ])
    func malformedLocationsAreRefused(location: String) {
        #expect(throws: StorageError.self) { try DiskLocation.resolve(location, in: pools) }
    }
}
