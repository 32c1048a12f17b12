/// An `nfs://server[:port]/export/path[?options]` URL, split into the server,
/// the export to mount and the path inside it.
///
/// Where the export ends is not written in the URL, so the caller says:
/// `.firstComponent` (our exports are one component, `/ferry`), `.wholePath`
/// (a storage pool's URL names just the export) or `.prefix` (the pool's
/// export is known, and the URL names a file in it).
public struct NFSURL: Sendable, Equatable, CustomStringConvertible {
    public enum ExportSplit: Sendable, Equatable {
        case firstComponent
        case wholePath
        case prefix(String)
    }

    public var server: String
    /// The NFS port when not the portmapper's answer (`:port`, or `?nfsport=`).
    public var nfsPort: Int?
    /// The MOUNT protocol's port (NFSv3), when not the portmapper's answer.
    public var mountPort: Int?
    /// 3 or 4; nil is libnfs's default (3).
    public var version: Int?
    /// Absolute, e.g. "/ferry".
    public var export: String
    /// Absolute inside the export; "/" is the export's root.
    public var path: String

    public init(server: String, export: String, path: String = "/", nfsPort: Int? = nil, mountPort: Int? = nil, version: Int? = nil) {
        self.server = server
        self.export = export
        self.path = path
        self.nfsPort = nfsPort
        self.mountPort = mountPort
        self.version = version
    }

    public var description: String {
        let host = server.contains(":") ? "[\(server)]" : server
        let file = path == "/" ? "" : path
        return "nfs://\(host)\(export)\(file)\(query)"
    }

    /// The export's URL, options included, for libnfs (which reads the ports from it).
    var exportURL: String {
        let host = server.contains(":") ? "[\(server)]" : server
        return "nfs://\(host)\(export)\(query)"
    }

    /// The same export with another path inside it.
    public func appending(_ relative: String) -> NFSURL {
        var copy = self
        copy.path = path == "/" ? "/" + relative : path + "/" + relative
        return copy
    }

    private var query: String {
        var options: [String] = []
        if let nfsPort { options.append("nfsport=\(nfsPort)") }
        if let mountPort { options.append("mountport=\(mountPort)") }
        if let version { options.append("version=\(version)") }
        return options.isEmpty ? "" : "?" + options.joined(separator: "&")
    }
}

public struct NFSURLError: Error, Equatable, CustomStringConvertible {
    public var url: String
    public var reason: String

    public var description: String { "invalid NFS URL '\(url)': \(reason) (expected nfs://server[:port]/export[/path])" }
}

extension NFSURL {
    public init(parsing text: String, export split: ExportSplit = .firstComponent) throws {
        func fail(_ reason: String) -> NFSURLError { NFSURLError(url: text, reason: reason) }
        guard text.lowercased().hasPrefix("nfs://") else { throw fail("scheme must be nfs://") }
        guard !text.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 } == true }) else {
            throw fail("contains whitespace or control characters")
        }
        var rest = Substring(text.dropFirst(6))
        var queryText: Substring?
        if let mark = rest.firstIndex(of: "?") {
            queryText = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let (server, port) = try Self.parseAuthority(rest[..<slash], fail: fail)
        let pathText = rest[slash...]
        var parts = pathText.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        if parts.count > 1 && parts.last == "" { parts.removeLast() }  // a trailing slash is harmless
        guard let first = parts.first, !first.isEmpty else { throw fail("no export after the server") }
        if parts.contains("") { throw fail("empty path component ('//')") }
        if parts.contains(where: { $0 == "." || $0 == ".." }) { throw fail("'.' and '..' are not allowed in the path") }

        let exportCount: Int
        switch split {
        case .firstComponent: exportCount = 1
        case .wholePath: exportCount = parts.count
        case .prefix(let export):
            let exportParts = export.split(separator: "/").map(String.init)
            guard !exportParts.isEmpty, parts.starts(with: exportParts) else { throw fail("path is not inside export '\(export)'") }
            exportCount = exportParts.count
        }
        self.init(
            server: server, export: "/" + parts.prefix(exportCount).joined(separator: "/"),
            path: "/" + parts.dropFirst(exportCount).joined(separator: "/"), nfsPort: port)
        if let queryText { try applyOptions(queryText, fail: fail) }
    }

    private static func parseAuthority(_ authority: Substring, fail: (String) -> NFSURLError) throws -> (String, Int?) {
        guard !authority.isEmpty else { throw fail("no server") }
        if authority.contains("@") { throw fail("user names are not supported") }
        var host = authority
        var portText: Substring?
        if authority.hasPrefix("[") {  // IPv6 literal
            guard let close = authority.firstIndex(of: "]") else { throw fail("unclosed '[' in server") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail("unexpected text after ']'") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        }
        guard !host.isEmpty else { throw fail("no server") }
        let hostAllowed = host.allSatisfy { $0.isLetter || $0.isNumber || "-._:".contains($0) }
        guard hostAllowed else { throw fail("server '\(host)' has characters a host name cannot have") }
        guard let portText else { return (String(host), nil) }
        return (String(host), try port(portText, name: "port", fail: fail))
    }

    private static func port(_ text: Substring, name: String, fail: (String) -> NFSURLError) throws -> Int {
        guard let value = Int(text), (1...65535).contains(value) else { throw fail("\(name) '\(text)' is not 1-65535") }
        return value
    }

    private mutating func applyOptions(_ query: Substring, fail: (String) -> NFSURLError) throws {
        for pair in query.split(separator: "&") {
            let keyValue = pair.split(separator: "=", maxSplits: 1)
            guard keyValue.count == 2 else { throw fail("option '\(pair)' has no value") }
            switch keyValue[0] {
            case "nfsport": nfsPort = try Self.port(keyValue[1], name: "nfsport", fail: fail)
            case "mountport": mountPort = try Self.port(keyValue[1], name: "mountport", fail: fail)
            case "version":
                guard let v = Int(keyValue[1]), v == 3 || v == 4 else { throw fail("version must be 3 or 4") }
                version = v
            default: throw fail("unsupported option '\(keyValue[0])' (known: nfsport, mountport, version)")
            }
        }
    }
}
