import Foundation
import Testing
@testable import Coordinator

@Suite struct ServeArgumentTests {
    @Test(arguments: [
        ("90", Duration.seconds(90)), ("0", .zero), ("1.5", .milliseconds(1500)), ("250ms", .milliseconds(250)),
        ("30s", .seconds(30)), ("5m", .seconds(300)), ("1h", .seconds(3600)), ("1h30m", .seconds(5400)),
        ("2d", .seconds(172_800)), ("1m30s", .seconds(90)), ("0.5s", .milliseconds(500)),
    ])
    func durationsParse(text: String, expected: Duration) {
        #expect(DurationArgument(argument: text)?.duration == expected)
    }

    @Test(arguments: ["", "s", "5x", "-5", "5m3", "m5", "1..5s", "inf"])
    func badDurationsAreRefused(text: String) {
        #expect(DurationArgument(argument: text) == nil)
    }

    @Test func listenAddresses() {
        #expect(ListenAddress(argument: "127.0.0.1:9464") == ListenAddress(host: "127.0.0.1", port: 9464))
        #expect(ListenAddress(argument: "[::1]:0") == ListenAddress(host: "::1", port: 0))
        #expect(ListenAddress(argument: "localhost:80")?.description == "localhost:80")
        #expect(ListenAddress(host: "::1", port: 9).description == "[::1]:9")
        for bad in ["9464", "127.0.0.1", "127.0.0.1:65536", ":80", "::1:80", "[::1]80", "h:x"] {
            #expect(ListenAddress(argument: bad) == nil, "\(bad)")
        }
    }
}

@Suite struct ServeMetricsTests {
    static func moved(_ vm: String, downtimeMs: Double, totalMs: Double) -> MoveResult {
        MoveResult(
            vm: vm, source: "h1", target: "h2", outcome: .moved,
            migration: MigrationReport(
                id: "x", vm: vm, source: "h1", target: "h2", mode: "live", reason: "", outcome: .succeeded,
                figures: MigrationFigures(downtimeMsQEMU: downtimeMs, totalMs: totalMs), runsOn: "h2"))
    }

    @Test func exposesHostsVMsScoreMigrationsAndHistograms() {
        var values = MetricValues()
        values.hosts = [
            "h1": .init(up: true, maintenance: true, vms: 3, memoryUsed: 0.25),
            "h2": .init(up: true, maintenance: false, vms: 1, memoryUsed: 0.5),
            "h\"3": .init(up: false, maintenance: false, vms: 0, memoryUsed: nil),
        ]
        values.clusterScore = 0.125
        values.record(Self.moved("a", downtimeMs: 40, totalMs: 3000))
        values.record(Self.moved("b", downtimeMs: 400, totalMs: 12000))
        values.record(MoveResult(vm: "c", source: "h1", target: "h2", outcome: .rolledBack))
        values.record(MoveResult(vm: "d", source: "h1", target: "h2", outcome: .refused))
        values.record(MoveResult(vm: "e", source: "h1", target: nil, outcome: .notStarted))
        let text = values.render()
        let lines = Set(text.split(separator: "\n").map(String.init))
        for expected in [
            "ferry_hosts_up 2", "ferry_hosts_down 1", "ferry_host_up{host=\"h1\"} 1", "ferry_host_up{host=\"h\\\"3\"} 0",
            "ferry_host_maintenance{host=\"h1\"} 1", "ferry_host_memory_used_ratio{host=\"h2\"} 0.5",
            "ferry_vms 4", "ferry_host_vms{host=\"h1\"} 3", "ferry_cluster_score 0.125",
            "ferry_migrations_total{result=\"succeeded\"} 2", "ferry_migrations_total{result=\"rolledBack\"} 1",
            "ferry_migrations_total{result=\"failed\"} 0", "ferry_migrations_total{result=\"refused\"} 1",
            "# TYPE ferry_migration_downtime_seconds histogram",
            "ferry_migration_downtime_seconds_bucket{le=\"0.025\"} 0", "ferry_migration_downtime_seconds_bucket{le=\"0.05\"} 1",
            "ferry_migration_downtime_seconds_bucket{le=\"0.5\"} 2", "ferry_migration_downtime_seconds_bucket{le=\"+Inf\"} 2",
            "ferry_migration_downtime_seconds_sum 0.44", "ferry_migration_downtime_seconds_count 2",
            "ferry_migration_duration_seconds_bucket{le=\"5\"} 1", "ferry_migration_duration_seconds_count 2",
        ] {
            #expect(lines.contains(expected), "missing: \(expected)\n\(text)")
        }
        #expect(!text.contains("ferry_host_memory_used_ratio{host=\"h\\\"3\"}"), "no memory figure for a host that did not answer")
        // Every sample belongs to a family declared with HELP and TYPE before it.
        var declared = Set<String>()
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") { declared.insert(String(line.split(separator: " ")[2])) }
            if line.hasPrefix("#") { continue }
            let name = String(line.prefix { $0 != "{" && $0 != " " })
            let family = ["_bucket", "_sum", "_count"].reduce(name) { n, suffix in
                n.hasSuffix(suffix) && declared.contains(String(n.dropLast(suffix.count))) ? String(n.dropLast(suffix.count)) : n
            }
            #expect(declared.contains(family), "\(line) has no TYPE before it")
        }
    }

    @Test func histogramBucketsAreCumulative() {
        var h = Histogram(bounds: [1, 0.1, 10])
        for value in [0.05, 0.5, 5, 50] { h.observe(value) }
        #expect(h.bounds == [0.1, 1, 10] && h.counts == [1, 2, 3] && h.count == 4 && h.sum == 55.55)
    }

    @Test func numbersAndLabelsAreWrittenAsPrometheusReadsThem() {
        #expect(MetricText.format(3) == "3" && MetricText.format(0.25) == "0.25" && MetricText.format(.infinity) == "+Inf")
        #expect(MetricText.escape("a\"b\\c\nd") == "a\\\"b\\\\c\\nd")
    }
}
