import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// `coord serve` in a coordinator cluster (store: etcd). Campaigns for
/// leadership; while it leads, it settles migrations a lost leader left
/// unfinished, then runs queued operations and the scheduled balancing
/// (`ClusterService`), every agent request carrying its fence token. When its
/// lease is lost it stops acting at once (its work is cancelled, never rolled
/// back: the agents already refuse it, and the next leader settles what it
/// left) and campaigns again. On SIGTERM it finishes as `ClusterService`
/// does, then resigns so a follower takes over without waiting out the lease.
struct CoordinatorClusterService: Service {
    let config: CoordConfig
    let client: EtcdClient
    let election: LeaderElection
    let metrics: ServeMetrics
    let settings: ClusterService.Settings
    let logger: Logger

    func run() async throws {
        let stopping = Mutex(false)
        await withGracefulShutdownHandler {
            while !stopping.withLock({ $0 }) && !Task.isCancelled {
                let leadership: Leadership
                do {
                    leadership = try await cancelWhenGracefulShutdown { try await election.campaign() }
                } catch {
                    break
                }
                logger.notice("\(leadership.name) leads at epoch \(leadership.epoch) (lease \(leadership.lease), \(leadership.leaseSeconds) s)")
                let ended = await lead(leadership, stopping: { stopping.withLock { $0 } })
                if case .finished = ended { await election.resign(leadership) }
            }
        } onGracefulShutdown: {
            stopping.withLock { $0 = true }
        }
        await client.shutdown()
        logger.notice("stopped")
    }

    enum TermEnd: Sendable {
        case lost(String)
        case finished
    }

    /// One term as leader: the lease holder races the work; whichever ends
    /// first ends the term.
    private func lead(_ leadership: Leadership, stopping: @escaping @Sendable () -> Bool) async -> TermEnd {
        await withTaskGroup(of: TermEnd.self) { group in
            group.addTask {
                .lost(await LeaseHolder(client: client, leadership: leadership).hold())
            }
            group.addTask {
                await work(leadership, stopping: stopping)
                return .finished
            }
            let first = await group.next() ?? .finished
            group.cancelAll()
            if case .lost(let reason) = first {
                // Said now, not once the cancelled work has unwound: from this
                // moment no agent request and no journal write goes out.
                logger.warning("lost leadership: \(reason); stopped acting (the next leader settles what was under way)")
            }
            return first
        }
    }

    /// What a leader does: settle what a lost leader left, then run queued
    /// operations and the scheduled balancing, every agent request carrying
    /// the fence token.
    private func work(_ leadership: Leadership, stopping: @escaping @Sendable () -> Bool) async {
        var fenced = self.config
        fenced.fence = leadership.fence
        let config = fenced
        let journal = EtcdJournal(client: client, keys: election.keys, leadership: leadership)
        let (logger, metrics, settings, client) = (self.logger, self.metrics, self.settings, self.client)
        do {
            try await OrphanedMigrations.settle(config: config, journal: journal, say: { logger.notice("\($0)") })
        } catch {
            logger.error("cannot settle unfinished migrations: \(error)")
        }
        let abort = AbortSignal()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { work in
                work.addTask {
                    await OperationRunner(
                        client: client, keys: journal.keys, leadership: leadership, config: config, journal: journal,
                        abort: abort, logger: logger
                    ).run(stopping: stopping)
                }
                work.addTask {
                    try? await ClusterService(config: config, journal: journal, metrics: metrics, settings: settings, logger: logger).run()
                }
            }
        } onGracefulShutdown: {
            // As ClusterService does with its own migrations: a grace to
            // finish, then what has not handed over rolls back. The
            // operation stays queued for the next leader.
            Task {
                try? await Task.sleep(for: settings.stopGrace)
                abort.raise()
            }
        }
    }
}
