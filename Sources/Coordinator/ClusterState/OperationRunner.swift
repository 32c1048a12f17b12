import Foundation
import Logging

/// The leader's side of the operation queue: runs queued operations one at
/// a time, oldest first, and resumes one a lost leader left running (an
/// evacuation is safe to run again: it plans afresh from what the host still
/// runs, after the leader has settled the migrations left half done).
struct OperationRunner: Sendable {
    let client: EtcdClient
    let keys: ClusterKeys
    let leadership: Leadership
    /// With the leader's fence token set.
    let config: CoordConfig
    let journal: EtcdJournal
    let abort: AbortSignal
    let logger: Logger

    /// Runs until cancelled (leadership lost) or `stopping` says so.
    func run(stopping: @escaping @Sendable () -> Bool) async {
        while !Task.isCancelled && !stopping() {
            do {
                let listing = try await client.range(prefix: keys.operations)
                let revision = listing.revision
                let pending = try listing.kvs.map { try ClusterJSON.decode(QueuedOperation.self, $0.value, what: $0.key) }
                    .filter { !$0.state.isFinal }.sorted { $0.id < $1.id }
                if let next = pending.first {
                    await perform(next, stopping: stopping)
                    continue
                }
                // Nothing to do: wait for a new operation.
                await client.waitForChange(under: [keys.operations], after: revision, atMost: .seconds(5))
            } catch is CancellationError {
                return
            } catch {
                logger.warning("operation queue: \(error); looking again in 2 s")
                try? await Task.sleep(for: .seconds(2))
            }
        }
    }

    private func perform(_ queued: QueuedOperation, stopping: @escaping @Sendable () -> Bool) async {
        var operation = queued
        let resumed = operation.state == .running
        operation.state = .running
        operation.startedAt = operation.startedAt ?? Date()
        operation.runBy.append("\(leadership.name) (epoch \(leadership.epoch))")
        let firstSeq: Int
        do {
            firstSeq = try await client.range(prefix: keys.operationEvents(operation.id)).kvs.count + 1
            try await save(operation)
        } catch {
            logger.error("cannot start operation \(operation.id): \(error)")
            try? await Task.sleep(for: .seconds(2))
            return
        }
        logger.notice("\(resumed ? "resuming" : "running") operation \(operation.id): \(operation.title)")
        let log = OperationLog(client: client, keys: keys, id: operation.id, firstSeq: firstSeq)
        if resumed {
            log.write(operation.json
                ? #"{"type":"takeover","coordinator":"\#(leadership.name)","epoch":\#(leadership.epoch),"text":"coordinator \#(leadership.name) took over at epoch \#(leadership.epoch) and resumes this operation"}"#
                : "coordinator \(leadership.name) took over (epoch \(leadership.epoch)) and resumes this operation")
        }
        let output = MovesOutput(json: operation.json, isTerminal: false, sink: { log.write($0) })
        let outcome: (QueuedOperation.State, String)
        do {
            outcome = try await evacuate(operation.evacuate, output: output)
        } catch {
            output.say("error: \(error)")
            outcome = (.failed, "\(error)")
        }
        await log.close()
        // A leader that lost its lease or is shutting down must not mark the
        // operation done: the next leader resumes it.
        guard !Task.isCancelled, !stopping() else {
            logger.notice("operation \(operation.id) left for the next leader")
            return
        }
        operation.state = outcome.0
        operation.summary = outcome.1
        operation.finishedAt = Date()
        do {
            try await save(operation)
            logger.notice("operation \(operation.id) \(outcome.0.rawValue): \(outcome.1)")
        } catch {
            logger.error("cannot record the end of operation \(operation.id): \(error)")
        }
    }

    private func evacuate(_ spec: QueuedOperation.Evacuate, output: MovesOutput) async throws -> (QueuedOperation.State, String) {
        _ = try config.host(named: spec.host)
        let evacuation = Evacuation(
            config: config, journal: journal, host: spec.host, parallel: spec.parallel,
            request: MigrationRequest(
                vm: "", target: "", mode: spec.mode, maxDowntimeMs: spec.maxDowntimeMs, bandwidthMiBps: spec.bandwidthMiBps,
                verifyTimeout: .milliseconds(Int(spec.verifyTimeoutSeconds * 1000))),
            output: output, abort: abort)
        let report = try await evacuation.perform(reason: spec.reason)
        let moved = report.entries.filter { $0.outcome == .moved }.count
        return report.hostEmpty
            ? (.succeeded, "\(spec.host) is empty; \(moved) VM\(moved == 1 ? "" : "s") moved")
            : (.failed, "\(spec.host) still runs \(report.leftOnHost?.joined(separator: ", ") ?? "VMs (it did not answer)")")
    }

    /// Writes the operation only while this coordinator leads.
    private func save(_ operation: QueuedOperation) async throws {
        let result = try await client.txn(EtcdTxn(
            compare: [.createRevision(keys.leader, equals: Int64(leadership.epoch))],
            success: [.put(keys.operation(operation.id), try ClusterJSON.encode(operation), lease: nil)],
            failure: []))
        guard result.succeeded else { throw ClusterStateError.leadershipLost(epoch: leadership.epoch, now: nil) }
    }
}
