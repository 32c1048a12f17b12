import Shared

/// The newest CPU model every host of a set runs: the model to give new VMs
/// that should be free to move anywhere in the set (what oVirt's cluster CPU
/// type and VMware's EVC baseline decide for a cluster). Pure.
///
/// "Newest" is the model with the most features (from QEMU's static
/// expansions in the inventory); ties go to the later CPU generation in a
/// fixed order (`generations`), then to the name people write (`Westmere`
/// over its alias `Westmere-v1`), then by name. Only fixed, migration-safe
/// models count: never `host`, `max` or `base`.
enum CPUBaseline {
    struct HostDetail: Codable, Sendable, Equatable {
        var host: String
        var cpuLevel: String?
        /// The best model this host runs by itself.
        var best: String?
        /// Whether this host holds the baseline down: without it, `withoutIt`
        /// would be the baseline, and this host cannot run that model.
        var limits: Bool
        var withoutIt: String?
        /// What this host lacks for `withoutIt`.
        var lacks: [String]?
    }

    struct Result: Codable, Sendable, Equatable {
        var hosts: [String]
        /// Nil when no model runs on every host.
        var baseline: String?
        var features: [String]
        var hostDetails: [HostDetail]
    }

    /// CPU families oldest first; a family's versions and variants
    /// (`-v2`, `-IBRS`, `-noTSX`) share its place. Generic models rank lowest,
    /// families this list does not know yet just above them.
    static let generations = [
        "486", "pentium", "pentium2", "pentium3", "athlon", "Opteron_G1", "coreduo", "Conroe", "core2duo", "Opteron_G2",
        "n270", "Penryn", "phenom", "Nehalem", "Opteron_G3", "Westmere", "SandyBridge", "Opteron_G4", "IvyBridge",
        "Opteron_G5", "Haswell", "Broadwell", "Skylake-Client", "KnightsMill", "Denverton", "Skylake-Server", "EPYC",
        "Dhyana", "Cascadelake-Server", "Snowridge", "EPYC-Rome", "Cooperlake", "Icelake-Client", "Icelake-Server",
        "EPYC-Milan", "SapphireRapids", "EPYC-Genoa", "GraniteRapids", "SierraForest",
    ]
    static let generic: Set<String> = ["qemu32", "kvm32", "qemu64", "kvm64"]
    static let excluded: Set<String> = ["host", "max", "base"]

    static func compute(_ inventories: [HostInventory]) -> Result {
        let usable = inventories.map { inventory in (inventory, candidates(inventory)) }
        let features = featureLists(inventories)
        let order = { (a: String, b: String) in ranks(a, above: b, features: features) }

        func best(among hosts: [(HostInventory, Set<String>)]) -> String? {
            guard let first = hosts.first else { return nil }
            return hosts.dropFirst().reduce(first.1) { $0.intersection($1.1) }.sorted(by: order).first
        }

        let baseline = best(among: usable)
        let details = usable.enumerated().map { index, entry -> HostDetail in
            let (inventory, own) = entry
            var detail = HostDetail(host: inventory.host, cpuLevel: inventory.qemu?.cpuLevel, best: own.sorted(by: order).first, limits: false)
            var others = usable
            others.remove(at: index)
            if let without = best(among: others), without != baseline, baseline.map({ order(without, $0) }) ?? true {
                detail.limits = true
                detail.withoutIt = without
                let model = inventory.qemu?.cpuModels.first { $0.name == without }
                detail.lacks = model.map { $0.runnable ? ["not migration-safe here"] : $0.unavailableFeatures } ?? ["unknown to its QEMU"]
            }
            return detail
        }
        return Result(
            hosts: inventories.map(\.host), baseline: baseline, features: baseline.flatMap { features[$0] } ?? [], hostDetails: details)
    }

    /// The fixed, migration-safe models a host runs.
    static func candidates(_ inventory: HostInventory) -> Set<String> {
        Set((inventory.qemu?.cpuModels ?? []).filter { $0.runnable && $0.migrationSafe != false && !excluded.contains($0.name) }.map(\.name))
    }

    /// Each model's longest feature list among the hosts that report one.
    static func featureLists(_ inventories: [HostInventory]) -> [String: [String]] {
        var lists: [String: [String]] = [:]
        for model in inventories.flatMap({ $0.qemu?.cpuModels ?? [] }) {
            guard let features = model.features, features.count > lists[model.name]?.count ?? -1 else { continue }
            lists[model.name] = features
        }
        return lists
    }

    /// The order models are preferred in: true when `a` comes before `b`.
    static func ranks(_ a: String, above b: String, features: [String: [String]]) -> Bool {
        let (countA, countB) = (features[a]?.count ?? 0, features[b]?.count ?? 0)
        if countA != countB { return countA > countB }
        let (genA, genB) = (generation(a), generation(b))
        if genA != genB { return genA > genB }
        let (versionedA, versionedB) = (isVersioned(a), isVersioned(b))
        if versionedA != versionedB { return !versionedA }
        return a < b
    }

    /// Place in `generations`: generic models -2, unknown families -1.
    static func generation(_ model: String) -> Int {
        if generic.contains(family(model)) { return -2 }
        return generations.firstIndex(of: family(model)) ?? -1
    }

    /// `Westmere-IBRS` and `Westmere-v2` are family `Westmere`; `Skylake-Client-noTSX-IBRS` is `Skylake-Client`.
    static func family(_ model: String) -> String {
        var name = Substring(model)
        while let dash = name.lastIndex(of: "-") {
            let suffix = name[name.index(after: dash)...]
            let variant = isVersionSuffix(suffix) || ["IBRS", "noTSX", "IBPB"].contains(suffix)
            guard variant, !generations.contains(String(name)) else { break }
            name = name[..<dash]
        }
        return String(name)
    }

    static func isVersioned(_ model: String) -> Bool {
        guard let dash = model.lastIndex(of: "-") else { return false }
        return isVersionSuffix(model[model.index(after: dash)...])
    }

    private static func isVersionSuffix(_ text: Substring) -> Bool {
        text.count > 1 && text.first == "v" && text.dropFirst().allSatisfy(\.isNumber)
    }
}
