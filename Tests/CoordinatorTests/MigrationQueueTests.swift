import Testing
@testable import Coordinator

@Suite struct MigrationQueueTests {
    typealias Job = MigrationQueue.Job

    @Test func startsInOrderWithinEveryLimitAndFreesSlotsAsJobsEnd() {
        let jobs = [
            Job(vm: "a", source: "h1", target: "h2"), Job(vm: "b", source: "h1", target: "h2"),
            Job(vm: "c", source: "h1", target: "h2"), Job(vm: "d", source: "h1", target: "h3"),
        ]
        var queue = MigrationQueue(jobs: jobs, limits: MigrationLimits(perSourceOutbound: 3, perTargetInbound: 2, clusterWide: 8))
        // c waits for h2's inbound slots; d starts past it.
        #expect(queue.startable().map(\.vm) == ["a", "b", "d"])
        #expect(queue.startable().isEmpty)
        queue.finished(jobs[0])
        #expect(queue.startable().map(\.vm) == ["c"])
        for job in [jobs[1], jobs[2], jobs[3]] { queue.finished(job) }
        #expect(queue.isDone)
    }

    @Test func parallelOneRunsOneAtATimeAndAbortDropsTheRest() {
        let jobs = (0..<3).map { Job(vm: "v\($0)", source: "h1", target: "h\($0 + 2)") }
        var queue = MigrationQueue(jobs: jobs, limits: MigrationLimits().evacuating(parallel: 1))
        #expect(queue.startable() == [jobs[0]])
        #expect(queue.startable().isEmpty)
        #expect(queue.dropPending() == [jobs[1], jobs[2]])
        queue.finished(jobs[0])
        #expect(queue.isDone)
    }

    @Test func evacuatingLimitsFollowParallel() {
        let limits = MigrationLimits().evacuating(parallel: 4)
        #expect(limits.clusterWide == 4 && limits.perSourceOutbound == 4 && limits.perTargetInbound == 2)
        #expect(MigrationLimits().evacuating(parallel: 1).perTargetInbound == 1)
    }

    /// Jobs of random length, ended in random order: the limits hold at
    /// every moment and every job runs exactly once.
    @Test(arguments: Array(UInt64(1)...100)) func limitsHoldWhateverOrderJobsEndIn(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        let hosts = (1...Int.random(in: 2...6, using: &rng)).map { "h\($0)" }
        let jobs = (0..<Int.random(in: 1...30, using: &rng)).map { i -> Job in
            let source = hosts.randomElement(using: &rng)!
            return Job(vm: "v\(i)", source: source, target: hosts.filter { $0 != source }.randomElement(using: &rng)!)
        }
        let limits = MigrationLimits(
            perSourceOutbound: Int.random(in: 1...3, using: &rng), perTargetInbound: Int.random(in: 1...3, using: &rng),
            clusterWide: Int.random(in: 1...5, using: &rng))
        var queue = MigrationQueue(jobs: jobs, limits: limits)
        var started: [Job] = []
        var running: [Job] = []
        while !queue.isDone {
            let now = queue.startable()
            started += now
            running += now
            #expect(running.count <= limits.clusterWide)
            for host in hosts {
                #expect(running.count { $0.source == host } <= limits.perSourceOutbound)
                #expect(running.count { $0.target == host } <= limits.perTargetInbound)
            }
            guard !running.isEmpty else { Issue.record("stuck with pending jobs and nothing running"); return }
            let ended = running.remove(at: Int.random(in: 0..<running.count, using: &rng))
            queue.finished(ended)
        }
        #expect(started.map(\.vm).sorted() == jobs.map(\.vm).sorted())
    }
}
