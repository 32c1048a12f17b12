import Shared
import Testing

@testable import Coordinator

@Suite struct MigrationPolicyTests {
    func input(
        mode: MigrationMode = .auto, dirty: Double? = 4, bandwidth: Double? = nil, memory: UInt64 = 262_136 << 10,
        running: Bool = true, hazards: [KnownQEMUBugs.Hazard] = [], allow: Bool = false
    ) -> PolicyInputs {
        PolicyInputs(
            mode: mode, maxDowntimeMs: 300, bandwidthMiBps: bandwidth, linkMiBps: 1000, memoryBytes: memory, guestRunning: running,
            dirtyRateMiBps: dirty, hazards: hazards, allowKnownBugs: allow, hostCPUs: 2)
    }

    func capability(_ plan: MigrationPlan, _ name: QMP.MigrationCapability) -> Bool? {
        plan.source.capabilities.first { $0.capability == name }?.state
    }

    @Test func autoPicksPreCopyWhenTheGuestDirtiesLittle() throws {
        let plan = try MigrationPolicy.plan(input(dirty: 4))
        #expect(plan.kind == .live && !plan.postcopyOnStall)
        #expect(capability(plan, .pauseBeforeSwitchover) == true && capability(plan, .autoConverge) == true)
        #expect(plan.source.parameters.downtimeLimit == 300 && plan.source.parameters.maxBandwidth == 1000 << 20)
        #expect(plan.reason.contains("4.0 MiB/s"))
    }

    @Test func autoKeepsPostCopyInReserveNearTheLinksCapacity() throws {
        let plan = try MigrationPolicy.plan(input(dirty: 20, bandwidth: 30))
        #expect(plan.kind == .live && plan.postcopyOnStall)
        #expect(capability(plan, .postcopyRAM) == true)
        #expect(plan.target.capabilities.contains { $0.capability == .postcopyRAM && $0.state })
        #expect(plan.source.parameters.maxBandwidth == 30 << 20)
    }

    @Test func autoPicksPostCopyAboveTheLinksCapacity() throws {
        let plan = try MigrationPolicy.plan(input(dirty: 80, bandwidth: 30))
        #expect(plan.kind == .postcopy)
    }

    @Test func aKnownBugMakesAutoColdAndLiveRefused() throws {
        let hazards = KnownQEMUBugs.hazards(memoryBytes: 256 << 20, hosts: [(.tcg, "7.2.11"), (.tcg, "7.2.11")])
        #expect(hazards == [KnownQEMUBugs.tcgDirtyBitmap])
        #expect(try MigrationPolicy.plan(input(hazards: hazards)).kind == .cold)
        #expect(throws: MigrationPolicyError.self) { try MigrationPolicy.plan(input(mode: .live, hazards: hazards)) }
        #expect(throws: MigrationPolicyError.self) { try MigrationPolicy.plan(input(mode: .postcopy, hazards: hazards)) }
        #expect(try MigrationPolicy.plan(input(mode: .live, hazards: hazards, allow: true)).kind == .live)
    }

    @Test func theBugNeedsTCGAnOldQEMUAndAlignedRAM() {
        #expect(KnownQEMUBugs.hazards(memoryBytes: 262_136 << 10, hosts: [(.tcg, "7.2.11")]).isEmpty)
        #expect(KnownQEMUBugs.hazards(memoryBytes: 256 << 20, hosts: [(.kvm, "7.2.11"), (.kvm, "7.2.11")]).isEmpty)
        #expect(KnownQEMUBugs.hazards(memoryBytes: 256 << 20, hosts: [(.tcg, "9.0.0")]).isEmpty)
        #expect(!KnownQEMUBugs.hazards(memoryBytes: 256 << 20, hosts: [(.kvm, "8.2.0"), (.tcg, "8.2.0")]).isEmpty)
    }

    @Test func aStoppedGuestOrColdModeIsStopAndCopy() throws {
        #expect(try MigrationPolicy.plan(input(running: false)).kind == .cold)
        let cold = try MigrationPolicy.plan(input(mode: .cold))
        #expect(cold.kind == .cold && capability(cold, .postcopyRAM) == false && capability(cold, .autoConverge) == false)
    }

    @Test func theTimeLimitScalesWithRAM() throws {
        #expect(try MigrationPolicy.plan(input(memory: 256 << 20)).timeoutSeconds == MigrationPolicy.minimumTimeout)
        #expect(try MigrationPolicy.plan(input(memory: 4 << 30)).timeoutSeconds == 600)
    }

    @Test func versionsCompareNumerically() {
        #expect(QEMUVersion("7.2.11")! < QEMUVersion("7.10.0")!)
        #expect(QEMUVersion("9.0")! > QEMUVersion("8.2.4")!)
        #expect(QEMUVersion("x") == nil)
    }
}

@Suite struct StallDetectorTests {
    @Test func convergingPreCopyIsNotStalled() {
        var detector = StallDetector()
        for (iteration, remaining) in [(1, 200), (2, 100), (3, 50), (4, 25), (5, 12), (6, 6)] {
            detector.observe(iteration: iteration, remaining: UInt64(remaining) << 20)
        }
        #expect(!detector.stalled)
    }

    @Test func remainingThatStopsFallingIsAStall() {
        var detector = StallDetector()
        for (iteration, remaining) in [(1, 200), (2, 60), (3, 58), (4, 61), (5, 59), (6, 60)] {
            detector.observe(iteration: iteration, remaining: UInt64(remaining) << 20)
        }
        #expect(detector.stalled)
    }

    @Test func tooFewIterationsSayNothing() {
        var detector = StallDetector()
        detector.observe(iteration: 1, remaining: 100)
        detector.observe(iteration: 2, remaining: 100)
        #expect(!detector.stalled)
    }
}

@Suite struct GuestVerificationTests {
    func status(_ lines: String) -> GuestStatus { GuestConsole.status(of: lines) }

    func beats(from first: Int, count: Int) -> String {
        (first..<(first + count)).map { "FERRY hb seq=\($0) mono=1 real=1\n" }.joined()
    }

    @Test func aContinuingHeartbeatWithAGoodMemoryCheckIsAlive() {
        let target = status(beats(from: 501, count: 120) + "FERRY memcheck ok pages=10 gen=2\n")
        let verdict = GuestVerification.judge(target: target, sourceLast: 500, qemuRunning: true)
        #expect(verdict?.alive == true)
    }

    @Test func undecidedUntilEnoughBeatsAndAMemoryCheck() {
        #expect(GuestVerification.judge(target: status(beats(from: 501, count: 10)), sourceLast: 500, qemuRunning: true) == nil)
        #expect(GuestVerification.judge(target: status(beats(from: 501, count: 200)), sourceLast: 500, qemuRunning: true) == nil)
    }

    @Test func staleMemoryARebootCorruptionOrADeadQEMUAreFailures() {
        let stale = GuestVerification.judge(target: status(beats(from: 490, count: 5)), sourceLast: 500, qemuRunning: true)
        #expect(stale?.alive == false && stale?.detail.contains("stale") == true)
        let rebooted = GuestVerification.judge(target: status(beats(from: 0, count: 5)), sourceLast: 5000, qemuRunning: true)
        #expect(rebooted?.alive == false && rebooted?.detail.contains("rebooted") == true)
        let corrupt = GuestVerification.judge(target: status(beats(from: 501, count: 5) + "FERRY CORRUPT addr=0x1 page=1\n"), sourceLast: 500, qemuRunning: true)
        #expect(corrupt?.alive == false)
        let bad = GuestVerification.judge(target: status(beats(from: 501, count: 5) + "FERRY memcheck BAD pages=1\n"), sourceLast: 500, qemuRunning: true)
        #expect(bad?.alive == false)
        #expect(GuestVerification.judge(target: status(""), sourceLast: 500, qemuRunning: false)?.alive == false)
    }
}
