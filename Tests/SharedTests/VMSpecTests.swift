import Foundation
import Testing
@testable import Shared

@Suite struct VMSpecTests {
    func spec(_ change: (inout VMSpec) -> Void = { _ in }) -> VMSpec {
        var spec = VMSpec(
            name: "vm1", memory: MemorySize(bytes: 262_136 << 10), cpuModel: "qemu64", machineType: "pc-q35-7.2",
            disks: [.init(url: "nfs://198.51.100.2/ferry/vm1.qcow2", size: .mebibytes(64))],
            nics: [.init(bridge: "br0", mac: "52:54:00:00:00:01")],
            boot: .init(kernel: "/srv/vmlinux", initrd: "/srv/initrd", cmdline: "console=ttyS0"))
        change(&spec)
        return spec
    }

    @Test func aGoodSpecHasNoProblems() {
        #expect(spec().problems() == [])
    }

    @Test(arguments: ["a;rm -rf /", "../x", "..", ".", "-rf", "", "a b", "$(x)", String(repeating: "a", count: 64), "é"])
    func unsafeNamesAreRefused(name: String) {
        #expect(spec { $0.name = name }.problems().contains { $0.field == "name" })
    }

    @Test(arguments: ["vm1", "web-01", "db_2.prod", "A", "9lives"])
    func safeNamesPass(name: String) {
        #expect(VMName.problem(name) == nil)
    }

    @Test func hostDependentCPUModelsAndUnversionedMachinesAreRefused() {
        #expect(spec { $0.cpuModel = "host" }.problems().map(\.field) == ["cpuModel"])
        #expect(spec { $0.cpuModel = "max" }.problems().map(\.field) == ["cpuModel"])
        #expect(spec { $0.machineType = "q35" }.problems().map(\.field) == ["machineType"])
        #expect(spec { $0.machineType = "pc" }.problems().map(\.field) == ["machineType"])
        #expect(spec { $0.machineType = "pc-i440fx-7.2" }.problems() == [])
    }

    @Test func disksNICsAndBootAreChecked() {
        #expect(!spec { $0.disks = [.init(url: "http://x/y")] }.problems().isEmpty)
        #expect(!spec { $0.disks = [.init(url: "nfs://server/onlyexport")] }.problems().isEmpty)
        #expect(!spec { $0.disks = [.init(url: "nfs://s/e/f", path: "/x")] }.problems().isEmpty)
        #expect(!spec { $0.disks = [.init(path: "relative.qcow2")] }.problems().isEmpty)
        #expect(!spec { $0.disks = [.init(path: "/a/b,c")] }.problems().isEmpty)
        #expect(!spec { $0.disks = [.init(path: "/a/../etc/shadow")] }.problems().isEmpty)
        #expect(!spec { $0.disks = [.init(path: "/a", format: "vmdk")] }.problems().isEmpty)
        #expect(!spec { $0.nics = [.init(bridge: "br0", mac: "01:00:00:00:00:01")] }.problems().isEmpty)
        #expect(!spec { $0.nics = [.init(bridge: "br0", mac: "52:54:00")] }.problems().isEmpty)
        #expect(!spec { $0.nics = [.init(bridge: "br0;x", mac: "52:54:00:00:00:01")] }.problems().isEmpty)
        #expect(!spec { $0.boot = .init() }.problems().isEmpty)
        #expect(!spec { $0.boot = .init(disk: true); $0.disks = [] }.problems().isEmpty)
        #expect(!spec { $0.vcpus = 0 }.problems().isEmpty)
        #expect(!spec { $0.memory = .mebibytes(8) }.problems().isEmpty)
    }

    @Test func memorySizes() throws {
        #expect(MemorySize(parsing: "262136k")?.bytes == 262_136 * 1024)
        #expect(MemorySize(parsing: "256M")?.bytes == 256 << 20)
        #expect(MemorySize(parsing: "1G")?.bytes == 1 << 30)
        #expect(MemorySize(parsing: "2GiB")?.bytes == 2 << 30)
        #expect(MemorySize(parsing: "4096")?.bytes == 4096)
        #expect(MemorySize(parsing: "12X") == nil)
        #expect(MemorySize(parsing: "") == nil)
        #expect(MemorySize(parsing: "99999999999999999999G") == nil)
        #expect(MemorySize(bytes: 262_136 << 10).description == "262136k")
        #expect(MemorySize(bytes: 256 << 20).description == "256M")
        let decoded = try JSONDecoder().decode([MemorySize].self, from: Data(#"["64M", 1024]"#.utf8))
        #expect(decoded.map(\.bytes) == [64 << 20, 1024])
    }
}

@Suite struct GuestConsoleTests {
    @Test func readsHeartbeatsChecksAndDamage() {
        let text = """
            [    1.2] Linux stuff\r
            FERRY ready name=vm1 dirty_mib=16 rate=1000
            FERRY hb seq=1 mono=10 real=100
            FERRY hb seq=2 mono=20 real=200
            FERRY memcheck ok pages=4096 gen=3
            FERRY disk last=7 slots=100 dev=/dev/vda
            junk FERRY hb seq=999
            """
        let status = GuestConsole.status(of: text)
        #expect(status.ready && status.lastHeartbeat == 2 && status.heartbeats == 2 && status.lastHeartbeatRealNs == 200)
        #expect(status.memcheckOK == true && status.diskLast == 7 && status.intact)

        var damaged = status
        GuestConsole.read("FERRY hb seq=1 mono=1 real=1\nFERRY CORRUPT addr=0x1000 page=1\nFERRY disk GAP last=3 missing=4\nFERRY memcheck BAD pages=1\n", into: &damaged)
        #expect(damaged.sequenceRegressions == 1 && damaged.corruptLines == 1 && damaged.diskGaps == 1 && damaged.memcheckOK == false)
        #expect(!damaged.intact)
    }

    /// A heartbeat line still being written ("seq=496" of "seq=4968") must
    /// not count: it once made a live guest look restarted.
    @Test func aCutLastLineIsNotRead() {
        let status = GuestConsole.status(of: "FERRY hb seq=4967 mono=1 real=1\nFERRY hb seq=496")
        #expect(status.firstHeartbeat == 4967 && status.lastHeartbeat == 4967 && status.heartbeats == 1)
        #expect(GuestConsole.status(of: "FERRY hb seq=12").heartbeats == 0)
        #expect(GuestConsole.status(of: "FERRY hb seq=12\r\n").lastHeartbeat == 12)
    }
}
