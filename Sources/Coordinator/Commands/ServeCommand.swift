import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Shared

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the coordinator as a service: watch the cluster, keep it balanced, export metrics.",
        discussion: """
            Every --refresh-every, every host is surveyed and the metrics updated. \
            Every --balance-every, if the cluster score (docs/planner.md) is above \
            --threshold, a balancing plan is made exactly as `coord balance` makes it \
            (never to a host that is down or in maintenance; a VM that migrated \
            within --cool-down is left alone; at most --max-moves moves, each gaining \
            at least --min-gain) and its moves are made one at a time through the \
            migration executor. Migrations left unfinished by a coord that died are \
            settled first, as coord recover does.

            Metrics, in Prometheus text format, at http://ADDRESS/metrics: \
            ferry_hosts_up, ferry_hosts_down, ferry_host_up{host}, \
            ferry_host_maintenance{host}, ferry_host_memory_used_ratio{host}, \
            ferry_vms, ferry_host_vms{host}, ferry_cluster_score, \
            ferry_migrations_total{result} (succeeded, rolledBack, failed, refused), \
            ferry_migration_downtime_seconds and ferry_migration_duration_seconds \
            (histograms), ferry_balance_rounds_total, \
            ferry_last_survey_timestamp_seconds, ferry_survey_duration_seconds. \
            The address is local by default; the endpoint has no authentication, so \
            bind it only where the scraper alone can reach it. Port 0 picks a free port \
            (logged at start).

            SIGTERM or SIGINT stops it: no new migration starts; a running one gets \
            --stop-grace to finish, then it is aborted, which rolls it back unless it \
            has already handed over to its target (then it is finished). It exits 0.

            Logs go to standard error.

            Durations: 90 (seconds), 500ms, 30s, 5m, 1h, 1h30m.

            Examples:
              coord serve
              coord serve --balance-every 10m --threshold 0.1 --metrics-address 127.0.0.1:9464
              coord serve --balance-every 0      # metrics only, never moves anything
              curl -s http://127.0.0.1:9464/metrics | grep ferry_cluster_score
            """)

    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("balance-every"), help: ArgumentHelp("How often to consider balancing; 0 never balances.", valueName: "duration"))
    var balanceEvery = DurationArgument(.seconds(300), text: "5m")
    @Option(name: .customLong("refresh-every"), help: ArgumentHelp("How often to survey the hosts.", valueName: "duration"))
    var refreshEvery = DurationArgument(.seconds(30), text: "30s")
    @Option(name: .customLong("metrics-address"), help: ArgumentHelp("Where to serve /metrics.", valueName: "host:port"))
    var metricsAddress = ListenAddress(host: "127.0.0.1", port: 9464)
    @Option(help: ArgumentHelp("Balance only when the cluster score is above this.", valueName: "score")) var threshold = 0.05
    @Option(name: .customLong("max-moves"), help: "Most moves per balancing round.") var maxMoves = 3
    @Option(name: .customLong("min-gain"), help: "Least score gain a move must bring.") var minGain = 0.001
    @Option(name: .customLong("cool-down"), help: ArgumentHelp("A VM stays put this long after it migrated.", valueName: "duration"))
    var coolDown = DurationArgument(.seconds(3600), text: "1h")
    @Option(name: .long, help: "auto, live, postcopy or cold, for every move (see coord migrate --help).")
    var mode: MigrationMode = .auto
    @Option(name: .customLong("max-downtime"), help: ArgumentHelp("Longest pause each guest may see at switchover, milliseconds.", valueName: "ms"))
    var maxDowntime = 300
    @Option(name: .customLong("stop-grace"), help: ArgumentHelp("On SIGTERM, how long a running migration may take to finish before it is rolled back.", valueName: "duration"))
    var stopGrace = DurationArgument(.seconds(30), text: "30s")
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        guard refreshEvery.duration >= .seconds(1) else { throw ValidationError("--refresh-every must be at least 1s") }
        guard balanceEvery.duration == .zero || balanceEvery.duration >= .seconds(1) else {
            throw ValidationError("--balance-every must be 0 (off) or at least 1s")
        }
        guard threshold >= 0 else { throw ValidationError("--threshold must be 0 or more") }
        guard maxMoves >= 1 else { throw ValidationError("--max-moves must be 1 or more") }
        guard minGain >= 0 else { throw ValidationError("--min-gain must be 0 or more") }
        guard (1...60_000).contains(maxDowntime) else { throw ValidationError("--max-downtime must be 1-60000 ms") }
    }

    func run() async throws {
        let config = try global.loadConfig()
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "coord-serve")
        let metrics = ServeMetrics()
        var settings = ClusterService.Settings()
        settings.refreshEvery = refreshEvery.duration
        settings.balanceEvery = balanceEvery.duration == .zero ? nil : balanceEvery.duration
        settings.threshold = threshold
        settings.options = BalanceOptions(
            maxMoves: maxMoves, minGain: minGain,
            coolDownSeconds: Double(coolDown.duration.components.seconds) + Double(coolDown.duration.components.attoseconds) / 1e18)
        settings.request = MigrationRequest(vm: "", target: "", mode: mode, maxDowntimeMs: maxDowntime)
        settings.stopGrace = stopGrace.duration
        let server = MetricsServer(address: metricsAddress, metrics: metrics, logger: logger)
        let cluster: any Service
        if config.isCluster {
            let client = try config.etcdClient()
            let election = LeaderElection(
                client: client, keys: config.clusterKeys, name: config.coordinatorName,
                leaseSeconds: config.etcd?.leaseSeconds ?? 5, logger: logger)
            logger.notice("coord serve \(config.coordinatorName): \(config.hosts.count) hosts, coordinator cluster on etcd \(client.endpoints.joined(separator: ",")), lease \(election.leaseSeconds) s; balance \(settings.balanceEvery == nil ? "never" : "every \(balanceEvery) above score \(threshold)") while leading")
            cluster = CoordinatorClusterService(config: config, client: client, election: election, metrics: metrics, settings: settings, logger: logger)
        } else {
            let journal = try config.openJournal()
            logger.notice("coord serve: \(config.hosts.count) hosts, refresh every \(refreshEvery), balance \(settings.balanceEvery == nil ? "never" : "every \(balanceEvery) above score \(threshold)"), journal \(journal.location)")
            cluster = ClusterService(config: config, journal: journal, metrics: metrics, settings: settings, logger: logger)
        }
        // Shut down in reverse order: the cluster service first (it may be
        // finishing a migration), the metrics endpoint last.
        let group = ServiceGroup(services: [server, cluster], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
