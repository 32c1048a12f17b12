/// Errors the coordinator reports to its user. Each names what was wrong and,
/// where there is one, what to do about it.
enum CoordError: Error, CustomStringConvertible {
    case configNotFound(searched: [String])
    case invalidConfig(path: String, reason: String)
    case unknownHost(String, known: [String])
    case invalidArgument(String)
    case invalidSpec(path: String, problems: [String])
    case notFound(String)
    case conflict(String)
    case noPlacement(vm: String, rejections: [String])

    var description: String {
        switch self {
        case .configNotFound(let searched):
            "no coord config found (looked at \(searched.joined(separator: ", "))); give --config PATH or set COORD_CONFIG"
        case .invalidConfig(let path, let reason):
            "invalid config \(path): \(reason)"
        case .unknownHost(let name, let known):
            "no host named '\(name)' in the config (hosts: \(known.joined(separator: ", ")))"
        case .invalidArgument(let reason), .notFound(let reason), .conflict(let reason):
            reason
        case .invalidSpec(let path, let problems):
            "invalid VM spec \(path):\n" + problems.map { "  \($0)" }.joined(separator: "\n")
        case .noPlacement(let vm, let rejections):
            "no host can take \(vm):\n" + rejections.map { "  \($0)" }.joined(separator: "\n")
        }
    }
}
