import Foundation
import Synchronization

/// Keeps an etcd lease alive, renewing it every third of its TTL, and says
/// when it is lost: etcd no longer knows it, or no renewal succeeded for a
/// whole TTL. The TTL is counted on this machine from when the last
/// successful renewal was sent, so the keeper gives up no later than etcd
/// can have expired the lease; a leader that hears of the loss must stop
/// acting at once.
final class LeaseKeeper: Sendable {
    /// Why the lease is lost.
    enum Loss: Sendable, Equatable, CustomStringConvertible {
        /// etcd says the lease does not exist: it expired or was revoked.
        case gone
        /// No renewal succeeded for the whole TTL; `lastError` says why the last one failed.
        case expired(lastError: String)

        var description: String {
            switch self {
            case .gone: "etcd no longer has the lease (expired or revoked)"
            case .expired(let lastError): "the lease could not be renewed within its TTL (last error: \(lastError))"
            }
        }
    }

    let lease: EtcdLease
    /// Yields the loss once and finishes; finishes without a value after `stop()`.
    let losses: AsyncStream<Loss>
    private let task: Task<Void, Never>

    /// Starts renewing at once. `grantedAt` is when the grant request was
    /// sent (default: now), the start of the lease's first TTL.
    init(client: EtcdClient, lease: EtcdLease, grantedAt: ContinuousClock.Instant = .now) {
        self.lease = lease
        let (stream, continuation) = AsyncStream.makeStream(of: Loss.self)
        losses = stream
        task = Task {
            if let loss = try? await Self.keep(client: client, lease: lease, validUntil: grantedAt + .seconds(lease.ttl)) {
                continuation.yield(loss)
            }
            continuation.finish()
        }
    }

    /// Stops renewing (the lease then expires after its TTL unless revoked).
    func stop() { task.cancel() }

    deinit { task.cancel() }

    /// The renewal loop for callers that want it in their own task: returns
    /// the loss, throws `CancellationError` when cancelled.
    static func keep(client: EtcdClient, lease: EtcdLease, validUntil start: ContinuousClock.Instant) async throws -> Loss {
        let clock = ContinuousClock()
        let interval = Duration.seconds(lease.ttl) / 3
        var validUntil = start
        var lastError = "none"
        while true {
            try Task.checkCancellation()
            let sent = clock.now
            if sent >= validUntil { return .expired(lastError: lastError) }
            var next = sent + interval
            do {
                let ttl = try await withDeadline(validUntil) { try await client.keepAliveOnce(lease.id) }
                validUntil = sent + .seconds(ttl)
            } catch EtcdError.leaseNotFound {
                return .gone
            } catch is DeadlineReached {
                return .expired(lastError: lastError == "none" ? "no answer before the TTL ran out" : lastError)
            } catch {
                try Task.checkCancellation()
                lastError = "\(error)"
                // Try again soon, several times before the TTL runs out.
                next = min(next, clock.now + .milliseconds(500))
            }
            try await clock.sleep(until: min(next, validUntil))
        }
    }

    struct DeadlineReached: Error {}

    /// Runs `operation`, abandoning it at `deadline`: the caller gets
    /// `DeadlineReached` at the deadline even if the operation is stuck in
    /// something that does not notice cancellation at once (a connect to a
    /// member that is cut off), so a leader learns on time that its lease
    /// may be gone. The abandoned operation is cancelled and left to end.
    static func withDeadline<T: Sendable>(
        _ deadline: ContinuousClock.Instant, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let outcome = OneShot<Result<T, any Error>>()
        let work = Task {
            do { outcome.offer(.success(try await operation())) } catch { outcome.offer(.failure(error)) }
        }
        let timer = Task {
            try? await ContinuousClock().sleep(until: deadline)
            if outcome.offer(.failure(DeadlineReached())) { work.cancel() }
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await outcome.value.get()
        } onCancel: {
            if outcome.offer(.failure(CancellationError())) { work.cancel() }
        }
    }
}

/// A value set once (later offers are ignored) and awaited by one reader.
final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiter: CheckedContinuation<Value, Never>?
    }

    private let state = Mutex(State())

    /// Returns whether this offer was the one taken.
    @discardableResult
    func offer(_ value: Value) -> Bool {
        let waiter: CheckedContinuation<Value, Never>?? = state.withLock { state in
            guard state.value == nil else { return .none }
            state.value = value
            defer { state.waiter = nil }
            return .some(state.waiter)
        }
        guard case .some(let continuation) = waiter else { return false }
        continuation?.resume(returning: value)
        return true
    }

    var value: Value {
        get async {
            await withCheckedContinuation { continuation in
                let ready: Value? = state.withLock { state in
                    if let value = state.value { return value }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}
