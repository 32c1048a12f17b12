import Foundation
import Testing
import Shared

/// Run-state control and failure handling against a small real guest.
@Suite(.serialized) struct QMPRunStateTests {
    @Test func stopAndContChangeStateAndEmitEvents() async throws {
        try await withQEMU(.guest(paused: true)) { _, client in
            #expect(try await client.runState() == .prelaunch)
            let events = await client.events()
            let seen = collect(events) { $0.kind == .stop }

            let before = Date()
            try await client.cont()
            #expect(try await client.queryStatus() == QMP.StatusInfo(running: true, status: .running))
            try await client.stop()
            #expect(try await client.runState() == .paused)
            #expect(try await client.queryStatus().running == false)

            let received = try await within(.seconds(10), "RESUME and STOP") { await seen.value }
            #expect(received.map(\.kind) == [.resume, .stop])
            // QEMU's own timestamps, taken on this machine's clock.
            #expect(received.allSatisfy { abs($0.timestamp.timeIntervalSince(before)) < 30 })

            try await client.cont()
            #expect(try await client.runState() == .running)
        }
    }

    @Test func quitEndsQEMUWithAShutdownEvent() async throws {
        try await withQEMU(.guest(paused: false)) { qemu, client in
            try await client.systemPowerdown()  // Accepted; firmware alone ignores it.
            let events = await client.events()
            let seen = collect(events) { if case .shutdown = $0.kind { true } else { false } }
            try await client.quit()
            let received = try await within(.seconds(10), "SHUTDOWN") { await seen.value }
            #expect(received.last?.kind == .shutdown(guest: false, reason: "host-qmp-quit"))
            #expect(try await eventually(.seconds(10)) { qemu.hasExited })
            #expect(try await eventually(.seconds(10)) { await client.isConnected == false })
        }
    }

    @Test func killingQEMUEndsAPendingCallQuickly() async throws {
        try await withQEMU(.guest(paused: false)) { qemu, client in
            // A stopped QEMU cannot answer, so the call is surely pending when it dies.
            qemu.signal(SIGSTOP)
            let call = Task { try await client.queryStatus() }
            try await Task.sleep(for: .milliseconds(300))
            let killedAt = ContinuousClock.now
            qemu.signal(SIGKILL)
            let outcome = try await within(.seconds(10), "the pending call to end") { await call.result }
            #expect(ContinuousClock.now - killedAt < .seconds(10))
            guard case .failure(let error) = outcome, case QMP.ClientError.connectionClosed(let command, _) = error else {
                Issue.record("expected connectionClosed, got \(outcome)")
                return
            }
            #expect(command == "query-status")
            #expect(await client.isConnected == false)
            // Later calls fail at once rather than hang.
            await #expect(throws: QMP.ClientError.self) { try await client.runState() }
        }
    }

    @Test func dirtyRateIsMeasured() async throws {
        try await withQEMU(.guest(paused: false)) { _, client in
            #expect(try await client.queryDirtyRate().status == .unstarted)
            let info = try await client.measureDirtyRate(seconds: 1)
            #expect(info.status == .measured)
            #expect(info.calcTime == 1)
            let rate = try #require(info.dirtyRate)
            #expect(rate >= 0)
        }
    }
}
