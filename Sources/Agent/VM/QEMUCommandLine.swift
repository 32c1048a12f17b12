import Shared

/// The QEMU command line for a VM: a pure function of the spec, its paths and
/// the accelerator, so the source and target of a migration build the same
/// device model and tests can check it without starting anything.
enum QEMUCommandLine {
    enum Mode: Equatable {
        /// Boot the guest.
        case boot
        /// Wait for an incoming migration (`-incoming defer`). `-S` keeps the
        /// guest paused after the stream has arrived, so the coordinator
        /// resumes it only once the source has stopped for good.
        case incoming
    }

    static func arguments(spec: VMSpec, paths: VMPaths, accelerator: AcceleratorStatus.Kind, mode: Mode = .boot) -> [String] {
        var args = [
            "-name", "guest=\(spec.name),process=ferry-\(spec.name),debug-threads=on",
            "-accel", accelerator == .kvm ? "kvm" : "tcg",
            "-machine", spec.machineType,
            "-cpu", spec.cpuModel,
            "-smp", "\(spec.vcpus)",
            "-m", spec.memory.description,
            "-nodefaults", "-no-user-config", "-display", "none",
            "-qmp", "unix:\(paths.qmpSocket),server=on,wait=off",
            "-chardev", "file,id=console0,path=\(paths.console),append=on",
            "-serial", "chardev:console0",
            "-pidfile", paths.pidFile,
            "-daemonize",
        ]
        for (index, disk) in spec.disks.enumerated() {
            args += [
                "-drive", "file=\(disk.location),format=\(disk.format),if=none,id=disk\(index),cache=none",
                "-device", "virtio-blk-pci,drive=disk\(index),id=virtio-disk\(index)" + (spec.boot.disk == true && index == 0 ? ",bootindex=1" : ""),
            ]
        }
        for (index, nic) in spec.nics.enumerated() {
            args += [
                "-netdev", "tap,id=net\(index),ifname=\(paths.tapName(nic: index)),script=no,downscript=no",
                "-device", "virtio-net-pci,netdev=net\(index),mac=\(nic.mac),id=nic\(index)",
            ]
        }
        if let kernel = spec.boot.kernel, spec.boot.disk != true {
            args += ["-kernel", kernel]
            if let initrd = spec.boot.initrd { args += ["-initrd", initrd] }
            if let cmdline = spec.boot.cmdline { args += ["-append", cmdline] }
        }
        if mode == .incoming { args += ["-S", "-incoming", "defer"] }
        return args
    }

    /// The host side's MAC for a guest NIC: the guest's MAC with its first
    /// octet replaced by fe, as libvirt does. High, so a bridge whose MAC
    /// follows its lowest port never takes it; fixed, so it is the same on
    /// every host the guest runs on.
    static func tapMAC(forGuestMAC mac: String) -> String {
        let octets = mac.lowercased().split(separator: ":")
        return (["fe"] + octets.dropFirst().map(String.init)).joined(separator: ":")
    }
}
