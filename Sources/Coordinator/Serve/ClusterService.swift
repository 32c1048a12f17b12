import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The heart of `coord serve`: surveys the cluster every `refreshEvery`
/// (updating the metrics), and every `balanceEvery`, when the score is above
/// `threshold`, plans with the `Balancer` (maintenance and cool-downs from
/// the journal) and makes the moves one at a time through the executor.
///
/// On graceful shutdown (SIGTERM, SIGINT) no new migration starts; one that
/// is running gets `stopGrace` to finish, then is aborted, which rolls it
/// back unless it has already handed over (then it is finished). So the
/// service never leaves a migration half done.
struct ClusterService: Service {
    struct Settings: Sendable {
        var refreshEvery: Duration = .seconds(30)
        /// nil: never balance (metrics only).
        var balanceEvery: Duration? = .seconds(300)
        var threshold = 0.05
        var options = BalanceOptions(maxMoves: 3)
        var request = MigrationRequest(vm: "", target: "")
        var stopGrace: Duration = .seconds(30)
    }

    let config: CoordConfig
    let journal: MigrationJournal
    let metrics: ServeMetrics
    let settings: Settings
    let logger: Logger

    func run() async throws {
        let abort = AbortSignal()
        let stopping = Mutex(false)
        let (logger, grace) = (self.logger, settings.stopGrace)
        await withGracefulShutdownHandler {
            await loop(abort: abort, stopping: { stopping.withLock { $0 } })
        } onGracefulShutdown: {
            stopping.withLock { $0 = true }
            logger.notice("shutting down: no new migration starts; a running one has \(grace) to finish, then rolls back unless handed over")
            Task {
                try? await Task.sleep(for: grace)
                abort.raise()
            }
        }
        logger.notice("stopped")
    }

    private func loop(abort: AbortSignal, stopping: @escaping @Sendable () -> Bool) async {
        let clock = ContinuousClock()
        do {
            try await OrphanedMigrations.settle(config: config, journal: journal, say: { [logger] in logger.notice("\($0)") })
        } catch {
            logger.error("cannot read unfinished migrations from the journal: \(error)")
        }
        var nextBalance = settings.balanceEvery.map { clock.now + $0 }
        var down: [String: String] = [:]
        while !stopping() && !Task.isCancelled {
            let live = await refresh()
            if let live { down = report(changesFrom: down, in: live) }
            var moved = false
            if let next = nextBalance, clock.now >= next, let live, !stopping() {
                moved = await balance(live, abort: abort, stopping: stopping)
                nextBalance = settings.balanceEvery.map { clock.now + $0 }
            }
            if moved { continue }  // survey again at once: the metrics should show the moves
            let wake = min(clock.now + settings.refreshEvery, nextBalance ?? clock.now + settings.refreshEvery)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(until: wake, clock: clock) }
        }
    }

    /// One survey into the metrics; nil when the journal could not be read.
    private func refresh() async -> LiveSnapshot? {
        let started = ContinuousClock.now
        let live: LiveSnapshot
        do {
            live = try await LiveSnapshot.take(config: config, journal: journal)
        } catch {
            logger.error("survey failed: \(error)")
            return nil
        }
        let score = ClusterScore(PlanningCluster(live.snapshot), memoryWeight: settings.options.memoryWeight, cpuWeight: settings.options.cpuWeight).value
        metrics.update { values in
            values.hosts = Dictionary(uniqueKeysWithValues: live.reports.map { report in
                let memory = report.inventory?.memory
                return (report.name, MetricValues.HostState(
                    up: report.state == .up, maintenance: live.maintenance[report.name] != nil, vms: report.inventory?.vms.count ?? 0,
                    memoryUsed: memory.flatMap { $0.totalBytes > 0 ? Double($0.usedBytes) / Double($0.totalBytes) : nil }))
            })
            values.clusterScore = score
            values.lastSurveyAt = Date()
            values.lastSurveySeconds = (ContinuousClock.now - started).milliseconds / 1000
        }
        return live
    }

    /// Logs hosts that stopped or started answering; returns who is down now.
    private func report(changesFrom before: [String: String], in live: LiveSnapshot) -> [String: String] {
        let now = Dictionary(uniqueKeysWithValues: live.downHosts.map { ($0.name, $0.reason ?? "no reason given") })
        for (host, reason) in now.sorted(by: { $0.key < $1.key }) where before[host] == nil {
            logger.warning("\(host) does not answer: \(reason)")
        }
        for host in before.keys.sorted() where now[host] == nil { logger.notice("\(host) answers again") }
        return now
    }

    /// A balancing round on this survey, if the score calls for one. Returns
    /// whether anything moved.
    private func balance(_ live: LiveSnapshot, abort: AbortSignal, stopping: @escaping @Sendable () -> Bool) async -> Bool {
        let plan = Balancer.plan(live.snapshot, options: settings.options, now: live.snapshot.takenAt ?? Date())
        guard plan.scoreBefore > settings.threshold else {
            logger.debug("score \(plan.scoreBefore) is within the threshold \(settings.threshold): no balancing")
            return false
        }
        guard !plan.moves.isEmpty else {
            logger.info("score \(String(format: "%.4f", plan.scoreBefore)) is above \(settings.threshold), but no allowed move gains \(settings.options.minGain) or more")
            return false
        }
        logger.notice("balancing: \(BalanceText.plan(plan, options: settings.options).replacingOccurrences(of: "\n", with: "; "))")
        metrics.update { $0.balanceRounds += 1 }
        let (logger, metrics) = (self.logger, self.metrics)
        let runner = LiveBalance(
            config: config, journal: journal, abort: abort, options: settings.options, request: settings.request,
            emit: { event in
                switch event {
                case .started(let job): logger.notice("migrating \(job.vm) \(job.source) -> \(job.target)")
                case .migration(let vm, .phase(let text)): logger.info("\(vm): \(text)")
                case .migration(let vm, .note(let text)): logger.notice("\(vm): \(text)")
                case .migration(let vm, .plan(let plan)): logger.info("\(vm): \(plan.kind.rawValue): \(plan.reason)")
                case .migration: break
                case .finished(let result):
                    metrics.update { $0.record(result) }
                    let level: Logger.Level = result.outcome == .moved ? .notice : .warning
                    logger.log(level: level, "\(result.vm): \(EvacuationReportText.result(result))\(result.reason.map { ": " + $0 } ?? "")")
                }
            })
        let results = await runner.run(plan, proceed: { !stopping() })
        return results.contains { $0.outcome == .moved }
    }
}
