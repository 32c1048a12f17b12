import Foundation

/// The CLI's side of the operation queue: puts an operation in etcd, then
/// prints its log as the leader writes it until it ends. Whichever
/// coordinator leads (and however often that changes) runs it.
struct OperationFollower: Sendable {
    let client: EtcdClient
    let keys: ClusterKeys

    /// Queues `operation`; returns once it has finished, with its final state.
    func submitAndFollow(_ operation: QueuedOperation, say: @escaping @Sendable (String) -> Void) async throws -> QueuedOperation {
        let value = try ClusterJSON.encode(operation)
        let revision: Int64 = try await withEtcdRetry { retry in
            // The id is new, so an operation already under it is this one,
            // queued by an attempt that timed out.
            if retry, let kv = try await client.get(keys.operation(operation.id)) { return kv.createRevision }
            let created = try await client.txn(EtcdTxn(
                compare: [.createRevision(keys.operation(operation.id), equals: 0)],
                success: [.put(keys.operation(operation.id), value, lease: nil)],
                failure: []))
            guard created.succeeded else { throw ClusterStateError.conflict("queue operation \(operation.id)") }
            return created.revision
        }
        if !operation.json {
            say("queued operation \(operation.id): \(operation.title); \((try? await leaderText()) ?? "")")
        }
        return try await follow(operation.id, from: revision, say: say)
    }

    private func leaderText() async throws -> String {
        guard let kv = try await client.get(keys.leader) else {
            return "no coordinator leads right now; it runs when one does"
        }
        let leader = try ClusterJSON.decode(LeaderRecord.self, kv.value, what: kv.key)
        return "coordinator \(leader.name) leads (epoch \(kv.createRevision))"
    }

    /// Prints the operation's log lines in order until its state is final.
    /// Watches for changes, and reads afresh at least every 2 s in case a
    /// watch breaks silently (an etcd member going away).
    func follow(_ id: String, from revision: Int64, say: @escaping @Sendable (String) -> Void) async throws -> QueuedOperation {
        var printed = 0
        var since = revision
        while true {
            let events = try await withEtcdRetry(patience: .seconds(30)) { _ in try await client.range(prefix: keys.operationEvents(id)) }
            for kv in events.kvs.dropFirst(printed) { say(String(decoding: kv.value, as: UTF8.self)) }
            printed = max(printed, events.kvs.count)
            guard let kv = try await withEtcdRetry(patience: .seconds(30), { _ in try await client.get(keys.operation(id)) }) else {
                throw JournalError.unreadable("operation \(id) vanished from etcd")
            }
            let operation = try ClusterJSON.decode(QueuedOperation.self, kv.value, what: kv.key)
            if operation.state.isFinal {
                // The last lines may land after the state; take them too.
                let tail = try await withEtcdRetry(patience: .seconds(30)) { _ in try await client.range(prefix: keys.operationEvents(id)) }
                for kv in tail.kvs.dropFirst(printed) { say(String(decoding: kv.value, as: UTF8.self)) }
                return operation
            }
            since = max(since, events.revision)
            await client.waitForChange(under: [keys.operationEvents(id), keys.operation(id)], after: since, atMost: .seconds(2))
        }
    }
}
