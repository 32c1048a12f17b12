import Shared

/// Hypervisor bugs that make a migration mode unsafe, the way Nova keeps
/// workarounds for known libvirt and QEMU bugs. Pure: the facts come from
/// the inventories of both hosts.
enum KnownQEMUBugs {
    struct Hazard: Sendable, Equatable {
        var id: String
        var summary: String
        /// Modes that may break the guest.
        var unsafeModes: Set<String>
    }

    /// QEMU before 9.0 under TCG misses pages written after a dirty-bitmap
    /// sync when the RAM block's length is a multiple of 64 pages (256 KiB):
    /// a pre-copy of a guest that dirties memory can complete and leave a
    /// broken guest (LAB-FACTS.md; fixed upstream by "physmem: Fix migration
    /// dirty bitmap coherency with TCG memory access"). Stop-and-copy is not
    /// affected: nothing is dirtied while the guest is stopped.
    static let tcgDirtyBitmap = Hazard(
        id: "qemu-tcg-dirty-bitmap",
        summary: "QEMU before 9.0 under TCG loses dirty pages in pre-copy when guest RAM is a multiple of 256 KiB (fixed in QEMU 9.0); "
            + "give the VM a RAM size that is not, e.g. 262136k instead of 256M",
        unsafeModes: ["live", "postcopy"])

    static func hazards(memoryBytes: UInt64, hosts: [(accelerator: AcceleratorStatus.Kind, qemuVersion: String?)]) -> [Hazard] {
        let tcgOnOldQEMU = hosts.contains { host in
            host.accelerator != .kvm && (QEMUVersion(host.qemuVersion ?? "0") ?? QEMUVersion(major: 0, minor: 0)) < QEMUVersion(major: 9, minor: 0)
        }
        return tcgOnOldQEMU && memoryBytes % (256 << 10) == 0 ? [tcgDirtyBitmap] : []
    }
}

/// "7.2.11" as comparable numbers.
struct QEMUVersion: Comparable, Sendable, CustomStringConvertible {
    var major: Int
    var minor: Int
    var micro: Int = 0

    init(major: Int, minor: Int, micro: Int = 0) {
        self.major = major
        self.minor = minor
        self.micro = micro
    }

    init?(_ text: String) {
        let parts = text.split(whereSeparator: { !$0.isNumber }).prefix(3).compactMap { Int($0) }
        guard parts.count >= 2 else { return nil }
        self.init(major: parts[0], minor: parts[1], micro: parts.count > 2 ? parts[2] : 0)
    }

    static func < (a: QEMUVersion, b: QEMUVersion) -> Bool {
        (a.major, a.minor, a.micro) < (b.major, b.minor, b.micro)
    }

    var description: String { "\(major).\(minor).\(micro)" }
}
