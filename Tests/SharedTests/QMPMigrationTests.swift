import Foundation
import Testing
import Shared

/// A live migration between two real QEMUs on this machine.
@Suite(.serialized) struct QMPMigrationTests {
    @Test func localMigrationPausesBeforeSwitchoverThenCompletes() async throws {
        try await withQEMU(.guest(paused: false)) { _, source in
            try await withQEMU(.incoming) { _, target in
                #expect(try await target.runState() == .inmigrate)
                try await source.setMigrationCapabilities([.events: true, .pauseBeforeSwitchover: true])
                try await target.setMigrationCapabilities([.events: true])
                try await source.setMigrationParameters(.init(downtimeLimit: 500, maxBandwidth: 1 << 30))

                let isDone: @Sendable (QMP.Event) -> Bool = {
                    if case .migration(let status) = $0.kind { status.isFinal } else { false }
                }
                let sourceEvents = collect(await source.events(), until: isDone)
                let targetEvents = collect(await target.events(), until: isDone)

                // Port 0: QEMU picks a free port and reports it.
                try await target.migrateIncoming(uri: "tcp:127.0.0.1:0")
                let port = try #require(try await target.queryMigrate().socketAddress?.first?.port)
                try await source.migrate(uri: "tcp:127.0.0.1:\(port)")

                let paused = try await source.waitForMigration(status: [.preSwitchover], timeout: .seconds(120))
                #expect(paused.status == .preSwitchover)
                #expect(try await source.queryStatus().running == false)
                #expect(try await target.runState() == .inmigrate)

                try await source.migrateContinue()
                let done = try await source.waitForMigration(status: [.completed], timeout: .seconds(120))
                #expect(done.status == .completed)
                #expect((done.ram?.transferred ?? 0) > 0)
                #expect((done.ram?.total ?? 0) >= 255 << 20)
                #expect(done.downtime != nil && done.totalTime != nil)
                try await target.waitForMigration(status: [.completed], timeout: .seconds(60))

                #expect(try await source.runState() == .postmigrate)
                #expect(try await eventually(.seconds(10)) { try await target.runState() == .running })

                let fromSource = try await within(.seconds(10), "source MIGRATION events") { await sourceEvents.value }
                let sourceStatuses = fromSource.compactMap { if case .migration(let s) = $0.kind { s } else { nil } }
                #expect(sourceStatuses.first == .setup)
                #expect(sourceStatuses.contains(.active))
                #expect(sourceStatuses.contains(.preSwitchover))
                #expect(sourceStatuses.last == .completed)
                #expect(fromSource.contains { if case .migrationPass = $0.kind { true } else { false } })
                #expect(fromSource.contains { $0.kind == .stop })

                let fromTarget = try await within(.seconds(10), "target MIGRATION events") { await targetEvents.value }
                let targetStatuses = fromTarget.compactMap { if case .migration(let s) = $0.kind { s } else { nil } }
                #expect(targetStatuses.contains(.active))
                #expect(targetStatuses.last == .completed)
            }
        }
    }

    @Test func waitingForCompletionReportsAFailedMigration() async throws {
        try await withQEMU(.guest(paused: false)) { _, source in
            // Nothing listens on port 1, so the migration fails at once; no events capability, so this is found by polling.
            try await source.migrate(uri: "tcp:127.0.0.1:1")
            let error = await #expect(throws: QMP.ClientError.self) {
                try await source.waitForMigration(status: [.completed], timeout: .seconds(30))
            }
            guard case .migrationFailed(let status, _) = error else {
                Issue.record("expected migrationFailed, got \(String(describing: error))")
                return
            }
            #expect(status == .failed)
            #expect(try await source.runState() == .running)
        }
    }
}
