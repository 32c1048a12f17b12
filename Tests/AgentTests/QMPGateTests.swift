import Shared
import Testing
@testable import Agent

/// The agent's requests to one VM's QMP socket take turns, in order, and a
/// request that cannot wait is told the socket is busy.
struct QMPGateTests {
    /// Records the order in which waiters got the socket.
    actor Order {
        var names: [Int] = []
        func add(_ n: Int) { names.append(n) }
    }

    @Test func waitersGetTheSocketInTheOrderTheyAsked() async throws {
        let gate = QMPGate()
        try await gate.acquire("vm1", within: .zero)
        let order = Order()
        var tasks: [Task<Void, any Error>] = []
        for n in 1...3 {
            tasks.append(Task {
                try await gate.acquire("vm1", within: .seconds(30))
                await order.add(n)
                await gate.release("vm1")
            })
            // Let each one queue before the next asks.
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(await order.names.isEmpty, "nobody may pass while the socket is held")
        await gate.release("vm1")
        for task in tasks { try await task.value }
        #expect(await order.names == [1, 2, 3])
        // All released: free again at once.
        try await gate.acquire("vm1", within: .zero)
    }

    @Test func otherVMsAreNotHeldUp() async throws {
        let gate = QMPGate()
        try await gate.acquire("vm1", within: .zero)
        try await gate.acquire("vm2", within: .zero)
    }

    @Test func aRequestThatCannotWaitIsToldTheSocketIsBusy() async throws {
        let gate = QMPGate()
        try await gate.acquire("vm1", within: .zero)
        let error = await #expect(throws: AgentError.self) { try await gate.acquire("vm1", within: .zero) }
        #expect(error?.message.contains("vm1") == true)
    }

    @Test func aWaiterGivesUpAfterItsLimitAndLeavesTheQueue() async throws {
        let gate = QMPGate()
        try await gate.acquire("vm1", within: .zero)
        let error = await #expect(throws: AgentError.self) { try await gate.acquire("vm1", within: .milliseconds(100)) }
        #expect(error?.message.contains("busy") == true)
        // The one that gave up must not be handed the socket on release.
        await gate.release("vm1")
        try await gate.acquire("vm1", within: .zero)
    }

    @Test func aCancelledWaiterLeavesTheQueue() async throws {
        let gate = QMPGate()
        try await gate.acquire("vm1", within: .zero)
        let waiter = Task { try await gate.acquire("vm1", within: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        await gate.release("vm1")
        try await gate.acquire("vm1", within: .zero)
    }
}
