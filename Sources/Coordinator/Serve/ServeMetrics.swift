import Foundation
import Synchronization

/// What `coord serve` knows, as Prometheus metrics. The service writes it;
/// the HTTP server reads it (text exposition format 0.0.4, rendered here).
final class ServeMetrics: Sendable {
    private let values = Mutex(MetricValues())

    func update(_ change: (inout MetricValues) -> Void) { values.withLock { change(&$0) } }
    func render() -> String { values.withLock { $0 }.render() }
}

/// The numbers behind the metrics; `render` is pure.
struct MetricValues: Sendable, Equatable {
    struct HostState: Sendable, Equatable {
        var up: Bool
        var maintenance: Bool
        var vms: Int
        /// Share of the host's memory in use, 0...1; nil when it did not answer.
        var memoryUsed: Double?
    }

    /// By host name, from the last survey.
    var hosts: [String: HostState] = [:]
    var clusterScore: Double?
    var lastSurveyAt: Date?
    var lastSurveySeconds: Double?
    var balanceRounds = 0
    /// Migrations this process ran, by result (`MigrationOutcome` raw values, and "refused").
    var migrations: [String: Int] = [:]
    var downtime = Histogram(bounds: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
    var duration = Histogram(bounds: [1, 2.5, 5, 10, 30, 60, 120, 300, 600])

    static let migrationResults = ["succeeded", "rolledBack", "failed", "refused"]

    /// Counts one finished move (a move never started counts nowhere).
    mutating func record(_ result: MoveResult) {
        let label: String
        switch result.outcome {
        case .moved: label = "succeeded"
        case .rolledBack: label = "rolledBack"
        case .failed: label = "failed"
        case .refused: label = "refused"
        case .notPlaced, .notStarted: return
        }
        migrations[label, default: 0] += 1
        guard result.outcome == .moved, let figures = result.migration?.figures else { return }
        if let ms = figures.downtimeMsQEMU { downtime.observe(ms / 1000) }
        if let ms = figures.totalMs { duration.observe(ms / 1000) }
    }

    func render() -> String {
        var out = MetricText()
        let names = hosts.keys.sorted()
        out.family("ferry_hosts_up", "gauge", "Hosts whose agent answered the last survey.")
        out.sample("ferry_hosts_up", [], Double(hosts.values.count { $0.up }))
        out.family("ferry_hosts_down", "gauge", "Configured hosts whose agent did not answer the last survey.")
        out.sample("ferry_hosts_down", [], Double(hosts.values.count { !$0.up }))
        out.family("ferry_host_up", "gauge", "1 if the host's agent answered the last survey.")
        for name in names { out.sample("ferry_host_up", [("host", name)], hosts[name]!.up ? 1 : 0) }
        out.family("ferry_host_maintenance", "gauge", "1 if the host is in maintenance (coord maintenance).")
        for name in names { out.sample("ferry_host_maintenance", [("host", name)], hosts[name]!.maintenance ? 1 : 0) }
        out.family("ferry_host_memory_used_ratio", "gauge", "Share of the host's guest memory in use.")
        for name in names { if let used = hosts[name]!.memoryUsed { out.sample("ferry_host_memory_used_ratio", [("host", name)], used) } }
        out.family("ferry_vms", "gauge", "VMs on the hosts that answered the last survey.")
        out.sample("ferry_vms", [], Double(hosts.values.reduce(0) { $0 + $1.vms }))
        out.family("ferry_host_vms", "gauge", "VMs on the host at the last survey.")
        for name in names where hosts[name]!.up { out.sample("ferry_host_vms", [("host", name)], Double(hosts[name]!.vms)) }
        if let clusterScore {
            out.family("ferry_cluster_score", "gauge", "Cluster imbalance (docs/planner.md); 0 is perfectly even.")
            out.sample("ferry_cluster_score", [], clusterScore)
        }
        if let lastSurveyAt {
            out.family("ferry_last_survey_timestamp_seconds", "gauge", "When the last survey ended (Unix time).")
            out.sample("ferry_last_survey_timestamp_seconds", [], lastSurveyAt.timeIntervalSince1970)
        }
        if let lastSurveySeconds {
            out.family("ferry_survey_duration_seconds", "gauge", "How long the last survey of every host took.")
            out.sample("ferry_survey_duration_seconds", [], lastSurveySeconds)
        }
        out.family("ferry_balance_rounds_total", "counter", "Balancing rounds that planned moves.")
        out.sample("ferry_balance_rounds_total", [], Double(balanceRounds))
        out.family("ferry_migrations_total", "counter", "Migrations this coord serve ran, by result.")
        for result in Self.migrationResults { out.sample("ferry_migrations_total", [("result", result)], Double(migrations[result, default: 0])) }
        out.histogram("ferry_migration_downtime_seconds", "Guest downtime at switchover of successful migrations (QEMU's figure).", downtime)
        out.histogram("ferry_migration_duration_seconds", "Time from the first step to the commit of successful migrations.", duration)
        return out.text
    }
}

/// A Prometheus histogram: cumulative counts per upper bound, sum and count.
struct Histogram: Sendable, Equatable {
    let bounds: [Double]
    private(set) var counts: [Int]
    private(set) var sum = 0.0
    private(set) var count = 0

    init(bounds: [Double]) {
        self.bounds = bounds.sorted()
        counts = Array(repeating: 0, count: bounds.count)
    }

    mutating func observe(_ value: Double) {
        for (i, bound) in bounds.enumerated() where value <= bound { counts[i] += 1 }
        sum += value
        count += 1
    }
}

/// Builds exposition text: `# HELP`, `# TYPE`, samples with escaped labels.
struct MetricText {
    private(set) var text = ""

    mutating func family(_ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(help.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n"))\n"
        text += "# TYPE \(name) \(type)\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        let rendered = labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
        text += "\(name)\(rendered) \(Self.format(value))\n"
    }

    mutating func histogram(_ name: String, _ help: String, _ h: Histogram) {
        family(name, "histogram", help)
        for (bound, count) in zip(h.bounds, h.counts) { sample(name + "_bucket", [("le", Self.format(bound))], Double(count)) }
        sample(name + "_bucket", [("le", "+Inf")], Double(h.count))
        sample(name + "_sum", [], h.sum)
        sample(name + "_count", [], Double(h.count))
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Integers without a fraction; others as Swift prints them (shortest round-trip).
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
