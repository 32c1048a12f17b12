import Foundation
import Shared

/// Judges whether a migrated guest is alive and whole on its target. QEMU
/// saying `completed` proves nothing (LAB-FACTS.md): the guest's own
/// heartbeat must continue from where the source left it, and its memory
/// check must still pass.
struct GuestVerdict: Sendable, Equatable {
    var alive: Bool
    var detail: String
    var heartbeatChecked: Bool
}

enum GuestVerification {
    /// Heartbeats (10 ms apart in the guest's clock) to see on the target.
    static let heartbeatsWanted = 100

    /// Pure: what the target's console says, given where the source stopped.
    /// Nil while undecided.
    static func judge(target: GuestStatus, sourceLast: UInt64, qemuRunning: Bool) -> GuestVerdict? {
        if !qemuRunning {
            return GuestVerdict(alive: false, detail: "QEMU on the target is no longer running", heartbeatChecked: true)
        }
        if target.corruptLines > 0 {
            return GuestVerdict(alive: false, detail: "the guest's memory check found \(target.corruptLines) corrupt word(s) after the migration", heartbeatChecked: true)
        }
        if target.memcheckOK == false {
            return GuestVerdict(alive: false, detail: "the guest's memory check reports damage (memcheck BAD)", heartbeatChecked: true)
        }
        if target.sequenceRegressions > 0 {
            return GuestVerdict(alive: false, detail: "the guest's heartbeat went backwards on the target", heartbeatChecked: true)
        }
        if target.diskGaps > 0 {
            return GuestVerdict(alive: false, detail: "the guest's disk check found a gap", heartbeatChecked: true)
        }
        if let first = target.firstHeartbeat, first <= sourceLast || first > sourceLast + 50 {
            return GuestVerdict(
                alive: false,
                detail: "the heartbeat did not continue: the source's last was \(sourceLast), the target's first is \(first)"
                    + (first < 50 && sourceLast > 100 ? " (the guest rebooted)"
                        : first <= sourceLast ? " (its memory came over stale: pages were lost in the migration)" : " (beats were lost)"),
                heartbeatChecked: true)
        }
        if target.heartbeats >= heartbeatsWanted, target.memcheckOK == true {
            return GuestVerdict(
                alive: true,
                detail: "heartbeat continued \(sourceLast) → \(target.firstHeartbeat ?? 0) … \(target.lastHeartbeat ?? 0), memory check ok",
                heartbeatChecked: true)
        }
        return nil
    }

    /// Polls the target until the guest is judged, or `timeout` passes.
    static func verify(
        vm: String, on target: AgentClient, sourceLast: UInt64?, timeout: Duration
    ) async throws -> GuestVerdict {
        let start = ContinuousClock.now
        let deadline = start + timeout
        var last: VMDetails?
        while ContinuousClock.now < deadline {
            let details = try await target.call(AgentMethods.VMShow.self, VMRef(name: vm), timeout: 15)
            last = details
            let running = details.info.pid != nil
            if let sourceLast {
                if let verdict = judge(target: details.guest, sourceLast: sourceLast, qemuRunning: running) { return verdict }
            } else if !running {
                return GuestVerdict(alive: false, detail: "QEMU on the target is no longer running", heartbeatChecked: false)
            } else if details.qemuStatus == "running", ContinuousClock.now - start > .seconds(3) {
                // No heartbeat to read: a guest that has run for 3 s is
                // the best evidence there is.
                return GuestVerdict(alive: true, detail: "QEMU runs the guest on the target (it prints no heartbeat to check)", heartbeatChecked: false)
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        let guest = last?.guest
        return GuestVerdict(
            alive: false,
            detail: "no proof of life within \(timeout): \(guest?.heartbeats ?? 0) heartbeat(s) on the target"
                + (guest?.memcheckOK == nil ? ", no memory check yet" : "") + " (the guest hangs or crashed)",
            heartbeatChecked: sourceLast != nil)
    }
}
