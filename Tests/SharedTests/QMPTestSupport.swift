import Foundation
import Shared

struct TestTimeout: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Runs `body`, failing with `TestTimeout` if it takes longer than `limit`,
/// so that a broken client fails a test instead of hanging the run.
func within<T: Sendable>(_ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TestTimeout(what: what)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// Reads `events` until `stop` says so, returning everything read.
func collect(_ events: AsyncStream<QMP.Event>, until stop: @escaping @Sendable (QMP.Event) -> Bool) -> Task<[QMP.Event], Never> {
    Task {
        var seen: [QMP.Event] = []
        for await event in events {
            seen.append(event)
            if stop(event) { break }
        }
        return seen
    }
}

/// Polls `condition` until it holds or `limit` passes.
func eventually(_ limit: Duration, _ condition: @Sendable () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}
