import ArgumentParser

/// A length of time on the command line: `90` (seconds), `250ms`, `30s`,
/// `5m`, `1h`, or a sum such as `1h30m`.
struct DurationArgument: ExpressibleByArgument, Sendable, Equatable, CustomStringConvertible {
    var duration: Duration
    let text: String

    init(_ duration: Duration, text: String) {
        self.duration = duration
        self.text = text
    }

    init?(argument: String) {
        guard let duration = Self.parse(argument) else { return nil }
        self.init(duration, text: argument)
    }

    var description: String { text }
    var defaultValueDescription: String { text }

    static func parse(_ text: String) -> Duration? {
        if let seconds = Double(text), seconds >= 0, seconds.isFinite { return .milliseconds(Int64((seconds * 1000).rounded())) }
        var total = Duration.zero
        var number = ""
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        while let c = rest.first {
            if c.isNumber || c == "." {
                number.append(c)
                rest = rest.dropFirst()
                continue
            }
            guard let value = Double(number), value >= 0 else { return nil }
            let unit: Double
            if rest.hasPrefix("ms") { unit = 0.001; rest = rest.dropFirst(2) }
            else if c == "s" { unit = 1; rest = rest.dropFirst() }
            else if c == "m" { unit = 60; rest = rest.dropFirst() }
            else if c == "h" { unit = 3600; rest = rest.dropFirst() }
            else if c == "d" { unit = 86400; rest = rest.dropFirst() }
            else { return nil }
            total += .milliseconds(Int64((value * unit * 1000).rounded()))
            number = ""
        }
        return number.isEmpty ? total : nil
    }
}

/// Where the metrics are served: `HOST:PORT`, `[IPv6]:PORT`; port 0 picks a free one.
struct ListenAddress: ExpressibleByArgument, Sendable, Equatable, CustomStringConvertible {
    var host: String
    var port: Int

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    init?(argument: String) {
        let hostPart: Substring, portPart: Substring
        if argument.hasPrefix("["), let close = argument.firstIndex(of: "]") {
            hostPart = argument[argument.index(after: argument.startIndex)..<close]
            let after = argument[argument.index(after: close)...]
            guard after.hasPrefix(":") else { return nil }
            portPart = after.dropFirst()
        } else {
            guard let colon = argument.lastIndex(of: ":") else { return nil }
            hostPart = argument[..<colon]
            portPart = argument[argument.index(after: colon)...]
            guard !hostPart.contains(":") else { return nil }
        }
        guard !hostPart.isEmpty, let port = Int(portPart), (0...65535).contains(port) else { return nil }
        self.init(host: String(hostPart), port: port)
    }

    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    var defaultValueDescription: String { description }
}
