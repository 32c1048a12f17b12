import Shared

/// What the operator asked for.
enum MigrationMode: String, Codable, Sendable, CaseIterable {
    case auto, live, postcopy, cold
}

/// The inputs of the policy: the request, the VM, the measured dirty rate
/// and the hosts' hypervisors. Plain data, so the choice is a pure function.
struct PolicyInputs: Sendable, Equatable {
    var mode: MigrationMode
    var maxDowntimeMs: Int
    /// Bandwidth cap the operator set, MiB/s; nil: the link's.
    var bandwidthMiBps: Double?
    /// What the migration network carries, MiB/s (config; a guess is fine).
    var linkMiBps: Double
    var memoryBytes: UInt64
    var guestRunning: Bool
    /// From calc-dirty-rate on the source, MiB/s; nil when not measured.
    var dirtyRateMiBps: Double?
    var hazards: [KnownQEMUBugs.Hazard]
    var allowKnownBugs: Bool
    var hostCPUs: Int
}

/// How to move the VM, and why.
struct MigrationPlan: Sendable, Equatable {
    enum Kind: String, Codable, Sendable {
        /// Pre-copy; `postcopyOnStall` may switch it to post-copy.
        case live
        /// Post-copy from the start: the guest runs on the target while its
        /// memory is pulled from the source.
        case postcopy
        /// Stop the guest, stream its state, resume it on the target.
        case cold
    }

    var kind: Kind
    var source: MigrationTuning
    var target: MigrationTuning
    /// Switch to post-copy when pre-copy stalls (needs postcopy-ram).
    var postcopyOnStall: Bool
    /// Local (unshared) disk images to copy to the target first; cold only.
    var copyDisks: [String] = []
    /// Give up (and roll back) after this long; scales with RAM like Nova's
    /// completion timeout and KubeVirt's completionTimeoutPerGiB.
    var timeoutSeconds: Double
    var reason: String
}

enum MigrationPolicyError: Error, CustomStringConvertible {
    case unsafe(mode: MigrationMode, hazards: [KnownQEMUBugs.Hazard])

    var description: String {
        switch self {
        case .unsafe(let mode, let hazards):
            "--mode \(mode.rawValue) is unsafe for this VM: " + hazards.map(\.summary).joined(separator: "; ")
                + ". Use --mode cold (or auto), or --allow-known-bugs to try anyway"
        }
    }
}

enum MigrationPolicy {
    /// Seconds allowed per GiB of guest RAM before a migration is abandoned,
    /// and the floor (TCG guests here move at tens of MiB/s at worst).
    static let secondsPerGiB = 150.0
    static let minimumTimeout = 120.0

    static func plan(_ input: PolicyInputs) throws -> MigrationPlan {
        let unsafeHere = input.hazards.filter { !$0.unsafeModes.isDisjoint(with: ["live", "postcopy"]) }
        let gib = Double(input.memoryBytes) / Double(1 << 30)
        let timeout = max(minimumTimeout, secondsPerGiB * gib)
        let bandwidth = input.bandwidthMiBps ?? input.linkMiBps

        func tuned(_ kind: MigrationPlan.Kind, postcopy: Bool, autoConverge: Bool, multifd: Bool, reason: String) -> MigrationPlan {
            var capabilities: [QMP.MigrationCapabilityState] = [
                .init(.pauseBeforeSwitchover, true), .init(.events, true),
                .init(.postcopyRAM, postcopy), .init(.autoConverge, autoConverge), .init(.multifd, multifd),
            ]
            if kind == .cold { capabilities = capabilities.map { .init($0.capability, $0.capability == .pauseBeforeSwitchover || $0.capability == .events ? $0.state : false) } }
            let parameters = QMP.MigrationParameters(
                downtimeLimit: Int64(input.maxDowntimeMs),
                maxBandwidth: input.bandwidthMiBps.map { Int64($0 * 1_048_576) } ?? Int64(input.linkMiBps * 1_048_576),
                multifdChannels: multifd ? min(4, max(2, input.hostCPUs / 2)) : nil)
            let targetCapabilities = capabilities.filter { $0.capability != .pauseBeforeSwitchover && $0.capability != .autoConverge }
            return MigrationPlan(
                kind: kind, source: MigrationTuning(capabilities: capabilities, parameters: parameters),
                target: MigrationTuning(capabilities: targetCapabilities, parameters: QMP.MigrationParameters(multifdChannels: parameters.multifdChannels)),
                postcopyOnStall: kind == .live && postcopy, timeoutSeconds: timeout, reason: reason)
        }

        if !input.guestRunning {
            return tuned(.cold, postcopy: false, autoConverge: false, multifd: false, reason: "the guest is not running, so its state is copied once while it stands still")
        }
        switch input.mode {
        case .cold:
            return tuned(.cold, postcopy: false, autoConverge: false, multifd: false, reason: "cold was asked for: the guest is paused for the whole copy")
        case .live, .postcopy:
            if !unsafeHere.isEmpty && !input.allowKnownBugs { throw MigrationPolicyError.unsafe(mode: input.mode, hazards: unsafeHere) }
            if input.mode == .postcopy {
                return tuned(.postcopy, postcopy: true, autoConverge: false, multifd: false, reason: "post-copy was asked for: the guest runs on the target almost at once and pulls its memory from the source")
            }
            return tuned(.live, postcopy: false, autoConverge: true, multifd: false, reason: "pre-copy was asked for (auto-converge throttles the guest if it does not converge)")
        case .auto:
            break
        }
        if !unsafeHere.isEmpty {
            return tuned(.cold, postcopy: false, autoConverge: false, multifd: false,
                         reason: "known hypervisor bug: \(unsafeHere.map(\.summary).joined(separator: "; ")); stop-and-copy is safe")
        }
        let multifd = bandwidth >= 1_000 && input.hostCPUs >= 4
        let multifdNote = multifd ? "; multifd: the link is fast enough that one stream would be CPU-bound" : ""
        guard let dirty = input.dirtyRateMiBps else {
            return tuned(.live, postcopy: true, autoConverge: true, multifd: multifd,
                         reason: "dirty rate unknown: pre-copy with auto-converge, post-copy if it stalls\(multifdNote)")
        }
        let ratio = dirty / max(bandwidth, 1)
        let rateText = "dirty rate \(format(dirty)) MiB/s against \(format(bandwidth)) MiB/s"
        if ratio < 0.5 {
            return tuned(.live, postcopy: false, autoConverge: true, multifd: multifd,
                         reason: "\(rateText): pre-copy converges within \(input.maxDowntimeMs) ms\(multifdNote)")
        }
        if ratio < 0.9 {
            return tuned(.live, postcopy: true, autoConverge: true, multifd: multifd,
                         reason: "\(rateText): pre-copy should converge, with auto-converge and post-copy if progress stalls\(multifdNote)")
        }
        return tuned(.postcopy, postcopy: true, autoConverge: false, multifd: false,
                     reason: "\(rateText): the guest dirties memory faster than pre-copy can send it; post-copy")
    }

    private static func format(_ value: Double) -> String {
        value >= 10 ? String(Int(value.rounded())) : String(format: "%.1f", value)
    }
}
