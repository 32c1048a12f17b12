/// Checks a spec before anything is created. Both coord (before it sends)
/// and the agent (before it acts) run it, so a bad spec never starts a
/// process anywhere.
public struct VMSpecProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

public enum VMName {
    /// Letters, digits, `-`, `_`, `.`; starting with a letter or digit; at
    /// most 63 characters. The name becomes a folder, a QEMU `-name` and part
    /// of a tap device's name, so nothing else is let through.
    public static func problem(_ name: String) -> VMSpecProblem? {
        guard HostName.isValid(name), let first = name.first, first.isASCII, first.isLetter || first.isNumber else {
            return VMSpecProblem("name", "'\(name)' is not allowed: use 1-63 letters, digits, '-', '_' or '.', starting with a letter or digit")
        }
        return nil
    }
}

extension VMSpec {
    /// QEMU CPU models that take whatever the host has, so a guest started
    /// with them cannot move to a host that differs.
    public static let hostDependentCPUModels: Set<String> = ["host", "max"]

    /// Every problem with the spec (empty when it is fine).
    public func problems() -> [VMSpecProblem] {
        var found: [VMSpecProblem] = []
        if let problem = VMName.problem(name) { found.append(problem) }
        if !(1...64).contains(vcpus) { found.append(VMSpecProblem("vcpus", "\(vcpus) is outside 1-64")) }
        if memory.bytes < 16 << 20 { found.append(VMSpecProblem("memory", "\(memory) is less than 16M")) }
        if memory.bytes % 4096 != 0 { found.append(VMSpecProblem("memory", "\(memory) is not a whole number of 4 KiB pages")) }
        if Self.hostDependentCPUModels.contains(cpuModel) {
            found.append(VMSpecProblem("cpuModel", "'\(cpuModel)' follows the host's CPU and cannot migrate between unlike hosts; name a model such as qemu64 or Nehalem"))
        } else if !Self.isPlainWord(cpuModel) {
            found.append(VMSpecProblem("cpuModel", "'\(cpuModel)' is not a CPU model name"))
        }
        if !Self.isVersionedMachineType(machineType) {
            found.append(VMSpecProblem("machineType", "'\(machineType)' is not a versioned machine type; use one such as pc-q35-7.2 or pc-i440fx-7.2 so both ends of a migration build the same machine"))
        }
        for (index, disk) in disks.enumerated() { found += disk.problems(field: "disks[\(index)]") }
        for (index, nic) in nics.enumerated() { found += nic.problems(field: "nics[\(index)]") }
        found += boot.problems(hasDisks: !disks.isEmpty)
        return found
    }

    /// `pc-q35-7.2`, `pc-i440fx-7.2`: a family and a version.
    static func isVersionedMachineType(_ name: String) -> Bool {
        guard let dash = name.lastIndex(of: "-"), isPlainWord(name) else { return false }
        let version = name[name.index(after: dash)...].split(separator: ".")
        return version.count >= 2 && version.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }

    static func isPlainWord(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 64 && text.allSatisfy { $0.isLetter || $0.isNumber || "-_.".contains($0) } && text.allSatisfy(\.isASCII)
    }
}

extension VMSpec.Disk {
    func problems(field: String) -> [VMSpecProblem] {
        var found: [VMSpecProblem] = []
        switch (url, path) {
        case (let url?, nil):
            do {
                if try NFSURL(parsing: url).path == "/" {
                    found.append(VMSpecProblem(field, "url '\(url)' names an export, not a file in it"))
                }
            } catch {
                found.append(VMSpecProblem(field, "url '\(url)' is not of the form nfs://server/export/file: \(error)"))
            }
        case (nil, let path?):
            if !path.hasPrefix("/") || path.contains("/../") || path.hasSuffix("/..") {
                found.append(VMSpecProblem(field, "path '\(path)' must be absolute, without '..'"))
            }
        default:
            found.append(VMSpecProblem(field, "give exactly one of url (nfs://…) or path"))
        }
        if let location = url ?? path, location.contains(",") || location.contains("\n") {
            found.append(VMSpecProblem(field, "'\(location)' contains a comma or newline, which QEMU's option syntax cannot carry"))
        }
        if !["qcow2", "raw"].contains(format) { found.append(VMSpecProblem(field, "format '\(format)' is not qcow2 or raw")) }
        return found
    }
}

extension VMSpec.NIC {
    func problems(field: String) -> [VMSpecProblem] {
        var found: [VMSpecProblem] = []
        if bridge.isEmpty || bridge.count > 15 || !VMSpec.isPlainWord(bridge) {
            found.append(VMSpecProblem(field, "bridge '\(bridge)' is not a network device name"))
        }
        let octets = mac.split(separator: ":", omittingEmptySubsequences: false)
        let valid = octets.count == 6 && octets.allSatisfy { $0.count == 2 && UInt8($0, radix: 16) != nil }
        if !valid {
            found.append(VMSpecProblem(field, "mac '\(mac)' is not of the form 52:54:00:12:34:56"))
        } else if let first = UInt8(octets[0], radix: 16), first & 1 == 1 {
            found.append(VMSpecProblem(field, "mac '\(mac)' is a multicast address"))
        }
        return found
    }
}

extension VMSpec.Boot {
    func problems(hasDisks: Bool) -> [VMSpecProblem] {
        if disk == true {
            return hasDisks ? [] : [VMSpecProblem("boot", "boot from disk needs at least one disk")]
        }
        guard let kernel else { return [VMSpecProblem("boot", "give a kernel (with initrd and cmdline) or disk: true")] }
        var found: [VMSpecProblem] = []
        for (name, value) in [("boot.kernel", kernel), ("boot.initrd", initrd)] {
            if let value, !value.hasPrefix("/") || value.contains(",") {
                found.append(VMSpecProblem(name, "'\(value)' must be an absolute path without commas"))
            }
        }
        if let cmdline, cmdline.contains("\n") { found.append(VMSpecProblem("boot.cmdline", "must be one line")) }
        return found
    }
}
