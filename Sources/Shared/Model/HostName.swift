/// Names of hosts (and, later, VMs) end up in file names, command lines and
/// log lines, so they are held to a small safe alphabet.
public enum HostName {
    public static func isValid(_ name: String) -> Bool {
        guard (1...63).contains(name.utf8.count), name != ".", name != ".." else { return false }
        return name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                true
            default:
                false
            }
        }
    }
}
