import Shared
import Testing
@testable import Agent

@Suite struct QEMUCommandLineTests {
    let config = AgentConfig(name: "h1", socket: "/run/ferry/agent.sock", stateDir: "/var/lib/ferry")
    let spec = VMSpec(
        name: "vm1", vcpus: 2, memory: MemorySize(bytes: 262_136 << 10), cpuModel: "Nehalem", machineType: "pc-q35-7.2",
        disks: [.init(url: "nfs://198.51.100.2/ferry/vm1.qcow2")], nics: [.init(bridge: "br0", mac: "52:54:00:00:00:01")],
        boot: .init(kernel: "/srv/vmlinux", initrd: "/srv/initrd", cmdline: "console=ttyS0 quiet"))

    func value(after flag: String, in args: [String]) -> [String] {
        args.indices.filter { args[$0] == flag && $0 + 1 < args.count }.map { args[$0 + 1] }
    }

    @Test func describesTheSpecExactly() {
        let paths = VMPaths(name: "vm1", config: config)
        let args = QEMUCommandLine.arguments(spec: spec, paths: paths, accelerator: .tcg)
        #expect(value(after: "-machine", in: args) == ["pc-q35-7.2"])
        #expect(value(after: "-cpu", in: args) == ["Nehalem"])
        #expect(value(after: "-m", in: args) == ["262136k"])
        #expect(value(after: "-smp", in: args) == ["2"])
        #expect(value(after: "-accel", in: args) == ["tcg"])
        #expect(value(after: "-qmp", in: args) == ["unix:/run/ferry/vms/vm1.qmp,server=on,wait=off"])
        #expect(value(after: "-drive", in: args) == ["file=nfs://198.51.100.2/ferry/vm1.qcow2,format=qcow2,if=none,id=disk0,cache=none"])
        #expect(value(after: "-append", in: args) == ["console=ttyS0 quiet"])
        #expect(value(after: "-pidfile", in: args) == ["/var/lib/ferry/vms/vm1/qemu.pid"])
        #expect(args.contains("-daemonize") && !args.contains("-incoming"))
        #expect(value(after: "-netdev", in: args).first?.hasPrefix("tap,id=net0,ifname=fy") == true)
    }

    @Test func incomingSideHasTheSameDeviceModelPlusIncoming() {
        let paths = VMPaths(name: "vm1", config: config)
        let boot = QEMUCommandLine.arguments(spec: spec, paths: paths, accelerator: .tcg)
        let incoming = QEMUCommandLine.arguments(spec: spec, paths: paths, accelerator: .tcg, mode: .incoming)
        #expect(Array(incoming.dropLast(3)) == boot)
        // -S: the target stays paused after the stream until Ferry resumes it.
        #expect(incoming.suffix(3) == ["-S", "-incoming", "defer"])
    }

    @Test func tapNamesFitAndAreStablePerVM() {
        let a = VMPaths(name: "a-very-long-virtual-machine-name", config: config)
        #expect(a.tapName(nic: 0).utf8.count <= 15)
        #expect(a.tapName(nic: 0) == VMPaths(name: "a-very-long-virtual-machine-name", config: config).tapName(nic: 0))
        #expect(a.tapName(nic: 0) != VMPaths(name: "another", config: config).tapName(nic: 0))
    }

    /// The tap's MAC starts fe:, above any MAC the kernel makes up, so a host
    /// bridge that follows its lowest port's MAC never takes a guest's tap's.
    @Test func tapMACIsHighAndFollowsTheGuestMAC() {
        #expect(QEMUCommandLine.tapMAC(forGuestMAC: "52:54:00:AB:01:90") == "fe:54:00:ab:01:90")
        #expect(QEMUCommandLine.tapMAC(forGuestMAC: "02:00:00:00:00:01") == "fe:00:00:00:00:01")
    }
}
