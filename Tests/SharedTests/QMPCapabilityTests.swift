import Foundation
import Testing
import Shared

/// Queries against a real QEMU with no guest (`-machine none`).
@Suite(.serialized) struct QMPCapabilityTests {
    @Test func greetingAndVersionAreParsed() async throws {
        try await withQEMU(.machineNone) { _, client in
            let greeting = try #require(await client.greeting)
            #expect(greeting.version.qemu.major >= 7)
            #expect(greeting.capabilities.contains("oob"))
            let version = try await client.queryVersion()
            #expect(version == greeting.version)
            #expect(!version.package.isEmpty)
        }
    }

    @Test func cpuDefinitionsCarryUnavailableFeatures() async throws {
        try await withQEMU(.machineNone) { _, client in
            let models = try await client.queryCPUDefinitions()
            #expect(models.count > 10)
            #expect(models.allSatisfy { $0.unavailableFeatures != nil })
            let qemu64 = try #require(models.first { $0.name == "qemu64" })
            #expect(qemu64.isRunnable)
            #expect(qemu64.migrationSafe == true)
            // Under TCG the `host` model needs KVM, so it lists what it lacks.
            let host = try #require(models.first { $0.name == "host" })
            #expect(host.unavailableFeatures?.isEmpty == false)
            #expect(!host.isRunnable)
        }
    }

    @Test func machinesIncludeVersionedTypes() async throws {
        try await withQEMU(.machineNone) { _, client in
            let machines = try await client.queryMachines()
            let byName = Dictionary(machines.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            let q35 = try #require(byName["pc-q35-7.2"])
            let i440fx = try #require(byName["pc-i440fx-7.2"])
            #expect(q35.alias == "q35")
            #expect(i440fx.alias == "pc")
            #expect(i440fx.isDefault == true)
        }
    }

    @Test func unknownCommandIsATypedError() async throws {
        try await withQEMU(.machineNone) { _, client in
            let error = await #expect(throws: QMP.CommandError.self) {
                try await client.execute("ferry-no-such-command")
            }
            #expect(error?.command == "ferry-no-such-command")
            #expect(error?.errorClass == .commandNotFound)
            #expect(error?.message.contains("ferry-no-such-command") == true)
            // The connection stays usable after an error.
            let state = try await client.runState()
            #expect(state == .running)
        }
    }

    @Test func escapeHatchReturnsRawJSONEvenForHugeReplies() async throws {
        try await withQEMU(.machineNone) { _, client in
            let version = try await client.execute("query-version")
            #expect(version["qemu"]?["major"]?.doubleValue == 7)
            // query-qmp-schema is one line of several hundred KiB.
            let schema = try await client.execute("query-qmp-schema")
            #expect((schema.arrayValue?.count ?? 0) > 1000)
            #expect(schema.arrayValue?.contains { $0["name"]?.stringValue == "migrate-continue" } == true)
        }
    }

    @Test func migrationCapabilitiesAndParametersRoundTrip() async throws {
        try await withQEMU(.machineNone) { _, client in
            let before = try await client.queryMigrationCapabilities()
            #expect(before[.pauseBeforeSwitchover] == false)
            #expect(before[.postcopyRAM] == false)
            #expect(before[.unknown] == nil)
            try await client.setMigrationCapabilities([.events: true, .autoConverge: true, .xbzrle: true])
            let after = try await client.queryMigrationCapabilities()
            #expect(after[.events] == true && after[.autoConverge] == true && after[.xbzrle] == true)

            var wanted = QMP.MigrationParameters(
                downtimeLimit: 450, maxBandwidth: 50 << 20, maxPostcopyBandwidth: 40 << 20,
                multifdChannels: 3, xbzrleCacheSize: 32 << 20,
                cpuThrottleInitial: 30, cpuThrottleIncrement: 15, announceRounds: 7)
            wanted.maxCPUThrottle = 90
            try await client.setMigrationParameters(wanted)
            let got = try await client.queryMigrationParameters()
            #expect(got.downtimeLimit == 450)
            #expect(got.maxBandwidth == 50 << 20)
            #expect(got.maxPostcopyBandwidth == 40 << 20)
            #expect(got.multifdChannels == 3)
            #expect(got.xbzrleCacheSize == 32 << 20)
            #expect(got.cpuThrottleInitial == 30 && got.cpuThrottleIncrement == 15)
            #expect(got.announceRounds == 7 && got.maxCPUThrottle == 90)
            // Untouched parameters keep QEMU's defaults.
            #expect(got.announceInitial == 50)

            let idle = try await client.queryMigrate()
            #expect(idle.state == .none)
        }
    }

    @Test func secondClientTimesOutWhileTheFirstHoldsTheSocket() async throws {
        try await withQEMU(.machineNone) { qemu, _ in
            let error = await #expect(throws: QMP.ClientError.self) {
                _ = try await QMPClient.connect(socketPath: qemu.socketPath, options: .init(connectTimeout: .seconds(1)))
            }
            guard case .connectTimedOut = error else {
                Issue.record("expected connectTimedOut, got \(String(describing: error))")
                return
            }
        }
    }

    @Test func connectTimesOutWhenNothingListens() async throws {
        let path = "/tmp/ferry-qmp-missing-\(getpid()).sock"
        let started = ContinuousClock.now
        await #expect(throws: QMP.ClientError.self) {
            _ = try await QMPClient.connect(socketPath: path, options: .init(connectTimeout: .milliseconds(500)))
        }
        #expect(ContinuousClock.now - started < .seconds(15))
    }
}
