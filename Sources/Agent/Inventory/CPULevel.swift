import Shared

/// A configured CPU level: the host plays an older CPU by counting as
/// runnable only the models whose features all lie inside the level model's
/// (oVirt's cluster CPU type, VMware's EVC). Pure: QEMU's answers in, the
/// inventory's CPU models out.
enum CPULevel {
    /// Listed as unavailable when a model's features could not be learned
    /// while a level is set: the model cannot be shown to fit, so it does not.
    static let featuresUnknown = "features-unknown"
    /// Listed as unavailable on every model when the level itself is unusable.
    static let levelUnusable = "cpu-level-unusable"

    struct Masked: Equatable {
        var models: [CPUModel]
        /// Why the level could not be applied (then nothing is runnable).
        var problem: String?
    }

    /// Why a configured level name is refused before QEMU is asked.
    static func problem(_ name: String) -> String? {
        let plain = !name.isEmpty && name.count <= 64
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
        guard plain else { return "cpuLevel '\(name)' is not a CPU model name (e.g. Westmere, Opteron_G2)" }
        if VMSpec.hostDependentCPUModels.contains(name) {
            return "cpuLevel '\(name)' follows the machine and hides nothing; name a fixed model such as Westmere"
        }
        return nil
    }

    /// `models` as QEMU reports them for this host (`unavailable-features`
    /// already lists what the host lacks), with the features each model has
    /// beyond `level` added to its unavailable features. `features` maps a
    /// model name to its static expansion; a missing entry is a model QEMU
    /// could not expand. Runnable models carry their feature list.
    static func apply(level: String?, to models: [CPUModel], features: [String: [String]], qemuVersion: String) -> Masked {
        func withFeatures(_ model: CPUModel) -> CPUModel {
            var copy = model
            copy.features = model.runnable ? features[model.name] : nil
            return copy
        }
        guard let level else { return Masked(models: models.map(withFeatures)) }
        guard let allowed = features[level].map(Set.init) else {
            let known = models.contains { $0.name == level }
            let reason = known
                ? "QEMU \(qemuVersion) could not expand CPU level \(level) into its features"
                : "cpuLevel '\(level)' is not a CPU model QEMU \(qemuVersion) knows (`qemu-system-x86_64 -cpu help` lists them)"
            let masked = models.map { model in
                var copy = model
                copy.unavailableFeatures = model.unavailableFeatures + [levelUnusable]
                copy.features = nil
                return copy
            }
            return Masked(models: masked, problem: "\(reason); no CPU model counts as runnable here until the agent's config names a usable level")
        }
        let masked = models.map { model in
            var copy = model
            let beyond: [String]
            if let own = features[model.name] {
                beyond = own.filter { !allowed.contains($0) }.sorted()
            } else {
                beyond = [featuresUnknown]
            }
            copy.unavailableFeatures = model.unavailableFeatures + beyond.filter { !model.unavailableFeatures.contains($0) }
            return withFeatures(copy)
        }
        return Masked(models: masked)
    }
}
