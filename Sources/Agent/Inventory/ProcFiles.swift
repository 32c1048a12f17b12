import Foundation
import Shared

/// Parsers for the /proc files the inventory reads. Pure functions over text,
/// so they are tested on captured samples.
enum ProcFiles {
    struct CPUInfo: Equatable {
        var vendor: String
        var model: String
        var flags: [String]
        var count: Int
    }

    static func parseCPUInfo(_ text: String) -> CPUInfo {
        var vendor = "unknown", model = "unknown"
        var flags: [String] = []
        var count = 0
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch key {
            case "processor": count += 1
            case "vendor_id" where vendor == "unknown": vendor = value
            case "model name" where model == "unknown": model = value
            case "flags" where flags.isEmpty: flags = value.split(separator: " ").map(String.init)
            default: break
            }
        }
        return CPUInfo(vendor: vendor, model: model, flags: flags, count: max(count, 1))
    }

    struct MemInfo: Equatable {
        var totalBytes: UInt64
        var availableBytes: UInt64
    }

    static func parseMemInfo(_ text: String) -> MemInfo? {
        var fields: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let value = UInt64(parts[1]) else { continue }
            let multiplier: UInt64 = parts.count >= 3 && parts[2] == "kB" ? 1024 : 1
            fields[String(parts[0].dropLast())] = value * multiplier
        }
        guard let total = fields["MemTotal"], let available = fields["MemAvailable"] else { return nil }
        return MemInfo(totalBytes: total, availableBytes: available)
    }

    static func parseLoadAverage(_ text: String) -> LoadAverage? {
        let parts = text.split(separator: " ").prefix(3).compactMap { Double($0) }
        guard parts.count == 3 else { return nil }
        return LoadAverage(one: parts[0], five: parts[1], fifteen: parts[2])
    }

    /// Busy and total jiffies of all CPUs together, from the `cpu` line of /proc/stat.
    struct CPUTimes: Equatable {
        var busy: UInt64
        var total: UInt64

        /// Share of time busy between an earlier sample and this one, 0...1.
        func utilisation(since earlier: CPUTimes) -> Double {
            guard total > earlier.total else { return 0 }
            let busyDelta = Double(busy &- earlier.busy)
            return min(1, max(0, busyDelta / Double(total - earlier.total)))
        }
    }

    static func parseCPUTimes(_ text: String) -> CPUTimes? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let values = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard values.count >= 5 else { return nil }
        // user nice system idle iowait irq softirq steal ...; idle and iowait are not busy.
        let total = values.prefix(8).reduce(0, +)
        let idle = values[3] + values[4]
        return CPUTimes(busy: total - idle, total: total)
    }
}
