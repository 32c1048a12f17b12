import Foundation
import Shared
import Testing

extension LabSuite {
    /// A coordinator cluster on real etcd (three members) with three
    /// `coord serve`, each in its own namespace, moving real guests; leaders
    /// killed, cut off and paused, etcd members killed.
    @Suite struct CoordinatorClusterTests {
        let lab = Lab.shared

        /// The leader is SIGKILLed while an evacuation of 3 guests is under
        /// way: another coordinator leads within the lease plus a few
        /// seconds, settles the migration the dead one left, resumes the
        /// queued evacuation, and the CLI that queued it sees it succeed.
        @Test func killingTheLeaderDuringAnEvacuationLosesNothing() async throws {
            try await lab.up()
            try await lab.noMaintenance()
            let first = try await lab.freshCluster()
            let guests = (0..<3).map { i in LabGuest.small("it-cl-evac\(i + 1)", octet: 140 + i) }
            try await lab.withVMs(guests.map(\.name)) {
                let before = try await lab.boot(guests, on: "h1")
                let evacuation = try BackgroundCoord.start(lab, ["evacuate", "h1", "--json"], config: lab.clusterConfig)
                defer { kill(evacuation.pid, SIGKILL) }

                _ = try await lab.waitForClusterMigration()
                _ = try await lab.cluster("coord", "kill", String(first.dropFirst()))
                let next = try await lab.waitForLeader(not: first, timeout: .seconds(30))
                print("failover (leader SIGKILLed -> new leader holds the key): \(next.after)")
                #expect(next.after < .seconds(Lab.clusterLease + 5), "\(next.name) led only after \(next.after)")

                let status = try await evacuation.wait(timeout: .seconds(900))
                let lines = try EvacuateLines.parse(evacuation.text)
                #expect(status == 0, "\(evacuation.text)\n\(evacuation.errors)")
                #expect(lines.report?.leftOnHost == [], "\(evacuation.text)")
                #expect(evacuation.text.contains("coordinator \(next.name) took over"), "the CLI should see who resumed it:\n\(evacuation.text)")
                #expect(lab.serveLog(next.name).contains("settling migration"), "\(next.name) did not settle the in-flight migration:\n\(lab.serveLog(next.name))")
                for guest in guests {
                    try await lab.expectRunsOnExactlyOneHost(guest.name, beyond: before[guest.name] ?? 0)
                }
                #expect(try await lab.vmsOn("h1").isEmpty)
                #expect(try await lab.clusterUnfinished().isEmpty)
            }
            _ = try await lab.coord(["maintenance", "exit", "h1"], config: lab.clusterConfig)
            _ = try await lab.cluster("down")
        }

        /// The leader's link goes down mid-migration: it stops acting when its
        /// lease runs out, another coordinator finishes the work, and once
        /// the link is back the old leader follows. The agents know the new
        /// epoch, so a request carrying the old leader's epoch (what it would
        /// send if it had not stopped) is refused, and the agent logs it.
        @Test func aLeaderCutOffStopsActingAndItsEpochIsFenced() async throws {
            try await lab.up()
            try await lab.noMaintenance()
            let old = try await lab.freshCluster()
            let guest = LabGuest.small("it-cl-cut", octet: 144)
            try await lab.withVMs([guest.name]) {
                let before = try await lab.boot([guest], on: "h1")
                let evacuation = try BackgroundCoord.start(lab, ["evacuate", "h1"], config: lab.clusterConfig)
                defer { kill(evacuation.pid, SIGKILL) }
                _ = try await lab.waitForClusterMigration()
                let oldEpoch = try #require(lab.epoch(of: old))

                _ = try await lab.cluster("net", "down", old)
                let next = try await lab.waitForLeader(not: old, timeout: .seconds(30))
                let status = try await evacuation.wait(timeout: .seconds(600))
                #expect(status == 0, "\(evacuation.text)\n\(evacuation.errors)")
                _ = try await lab.cluster("net", "up", old)

                let oldLog = lab.serveLog(old)
                #expect(oldLog.contains("lost leadership"), "\(old) never noticed it lost the lead:\n\(oldLog)")
                let newEpoch = try #require(lab.epoch(of: next.name))
                #expect(newEpoch > oldEpoch)
                try await lab.expectRunsOnExactlyOneHost(guest.name, beyond: before[guest.name] ?? 0)
                #expect(lab.agentLog("h1").contains("fence: coordinator \(next.name) leads at epoch \(newEpoch)"), "h1's agent never saw the new leader")

                // The old leader's epoch is refused by every agent the new leader has used.
                let socket = lab.hostDir("h1") + "/run/agent.sock"
                let clusterID = try await lab.cluster("etcdctl", "get", "--print-value-only", "/ferry/cluster-id").stdoutText
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                let stale = AgentClient(
                    stream: try FileDescriptorStream(socketPath: socket),
                    fence: FenceToken(epoch: oldEpoch, coordinator: old, cluster: clusterID))
                let refused = try await #require(throws: AgentError.self) { try await stale.connect(client: "coord (stale leader)") }
                await stale.close()
                #expect(refused.code == .fenced, "\(refused)")
                #expect(lab.agentLog("h1").contains("fenced: refused hello from coordinator \(old) at epoch \(oldEpoch)"))

                // Back on the network, the old leader follows the new one.
                let deadline = ContinuousClock.now + .seconds(30)
                while !lab.serveLog(old).contains("\(next.name) leads at epoch \(newEpoch); \(old) follows"), ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(200))
                }
                #expect(lab.serveLog(old).contains("\(next.name) leads at epoch \(newEpoch); \(old) follows"), "\(lab.serveLog(old))")
            }
            _ = try await lab.coord(["maintenance", "exit", "h1"], config: lab.clusterConfig)
            _ = try await lab.cluster("down")
        }

        /// One etcd member dead: the cluster works on. Two dead mid-migration:
        /// the leader stops (etcd has no quorum) and says so, nothing new
        /// starts; once the members are back a leader settles what was left,
        /// and no migration stays half done.
        @Test func etcdLosingQuorumStopsTheCoordinatorsAndNothingIsLeftHalfDone() async throws {
            try await lab.up()
            try await lab.noMaintenance()
            let leader = try await lab.freshCluster()
            let guests = [LabGuest.small("it-cl-q1", octet: 145), LabGuest.small("it-cl-q2", octet: 146)]
            try await lab.withVMs(guests.map(\.name)) {
                let before = try await lab.boot(guests, on: "h1")

                _ = try await lab.cluster("etcd", "kill", "3")
                let moved = try await lab.coord(["evacuate", "h2"], config: lab.clusterConfig, timeout: 300)
                #expect(moved.status == 0, "with one etcd member down the cluster must work:\n\(moved.stdoutText)\(moved.stderrText)")

                let evacuation = try BackgroundCoord.start(lab, ["evacuate", "h1"], config: lab.clusterConfig)
                defer { kill(evacuation.pid, SIGKILL) }
                _ = try await lab.waitForClusterMigration()
                _ = try await lab.cluster("etcd", "kill", "2")
                // The leader cannot keep its lease without a quorum.
                let deadline = ContinuousClock.now + .seconds(Lab.clusterLease + 15)
                while !lab.serveLog(leader).contains("lost leadership"), ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(200))
                }
                #expect(lab.serveLog(leader).contains("lost leadership"), "\(lab.serveLog(leader))")
                let refused = try await lab.coord(["evacuate", "h2"], config: lab.clusterConfig, timeout: 120)
                #expect(refused.status != 0)
                #expect(refused.stderrText.contains("etcd"), "the CLI should say etcd is the problem: \(refused.stderrText)")

                _ = try await lab.cluster("etcd", "start", "2")
                _ = try await lab.cluster("etcd", "start", "3")
                _ = try await lab.waitForLeader(not: nil, timeout: .seconds(60))
                // The new leader settles what was under way, then resumes the
                // queued evacuation: wait until that is done too (h1 empty and
                // nothing unfinished), or the checks below race its migrations.
                let settled = ContinuousClock.now + .seconds(300)
                while ContinuousClock.now < settled {
                    if try await lab.clusterUnfinished().isEmpty, try await lab.vmsOn("h1").isEmpty { break }
                    try await Task.sleep(for: .seconds(1))
                }
                #expect(try await lab.clusterUnfinished().isEmpty, "a migration is still half done after etcd returned")
                #expect(try await lab.vmsOn("h1").isEmpty, "the resumed evacuation did not finish")
                for guest in guests {
                    try await lab.expectRunsOnExactlyOneHost(guest.name, beyond: before[guest.name] ?? 0)
                }
                _ = try? await evacuation.wait(timeout: .seconds(600))
            }
            for host in ["h1", "h2"] { _ = try await lab.coord(["maintenance", "exit", host], config: lab.clusterConfig) }
            _ = try await lab.cluster("down")
        }
    }
}
