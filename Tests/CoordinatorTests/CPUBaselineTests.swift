import Foundation
import Shared
import Testing
@testable import Coordinator

/// The newest model every host of a set runs, and who holds it down.
@Suite struct CPUBaselineTests {
    static let features: [String: [String]] = [
        "qemu64": ["lm", "sse2", "svm"],
        "Opteron_G2": ["lm", "sse2", "sse3"],
        "Nehalem": ["lm", "sse2", "sse3", "sse4.2"],
        "Westmere": ["aes", "lm", "sse2", "sse3", "sse4.2"],
        "Westmere-v1": ["aes", "lm", "sse2", "sse3", "sse4.2"],
        "Haswell": ["aes", "avx2", "lm", "sse2", "sse3", "sse4.2"],
        "max": ["aes", "avx2", "avx512f", "lm", "sse2", "sse3", "sse4.2"],
        "base": [],
    ]

    /// A host running `runnable`; every other known model lacks something.
    static func host(_ name: String, runs runnable: Set<String>, level: String? = nil) -> HostInventory {
        let models = features.keys.sorted().map { model in
            CPUModel(
                name: model, unavailableFeatures: runnable.contains(model) ? [] : ["feature-of-\(model)"],
                migrationSafe: model != "max", features: runnable.contains(model) ? features[model] : nil)
        }
        var inventory = MigrationChecksTests.host(name, level: level, models: models)
        inventory.qemu?.cpuLevel = level
        return inventory
    }

    let everything: Set<String> = ["qemu64", "Opteron_G2", "Nehalem", "Westmere", "Westmere-v1", "Haswell", "max", "base"]

    @Test func theLargestModelEveryHostRunsWinsAndItsLimiterIsNamed() {
        let result = CPUBaseline.compute([
            Self.host("h1", runs: everything),
            Self.host("h2", runs: everything.subtracting(["Haswell"])),
            Self.host("h3", runs: ["qemu64", "Opteron_G2", "base"], level: "Opteron_G2"),
        ])
        #expect(result.baseline == "Opteron_G2", "ties with qemu64 on feature count; the named generation wins")
        #expect(result.features == Self.features["Opteron_G2"])
        #expect(result.hostDetails.map { $0.best } == ["Haswell", "Westmere", "Opteron_G2"], "never max or base; Westmere over Westmere-v1")
        let limiting = result.hostDetails.filter { $0.limits }
        #expect(limiting.map { $0.host } == ["h3"])
        #expect(limiting.first?.withoutIt == "Westmere")
        #expect(limiting.first?.lacks == ["feature-of-Westmere"])
        #expect(limiting.first?.cpuLevel == "Opteron_G2")
    }

    @Test func oneHostsBaselineIsItsBestModel() {
        let result = CPUBaseline.compute([Self.host("h1", runs: everything)])
        #expect(result.baseline == "Haswell")
        #expect(result.hostDetails.allSatisfy { !$0.limits })
    }

    @Test func withNothingInCommonThereIsNoBaselineAndBothHostsLimit() {
        let result = CPUBaseline.compute([Self.host("h1", runs: ["Haswell"]), Self.host("h2", runs: ["Opteron_G2"])])
        #expect(result.baseline == nil && result.features.isEmpty)
        #expect(result.hostDetails.map { $0.limits } == [true, true])
    }

    @Test func generationsOrderFamiliesAndIgnoreVariants() {
        #expect(CPUBaseline.family("Westmere-IBRS") == "Westmere")
        #expect(CPUBaseline.family("Skylake-Client-noTSX-IBRS") == "Skylake-Client")
        #expect(CPUBaseline.family("Skylake-Client-v4") == "Skylake-Client")
        #expect(CPUBaseline.family("EPYC-Rome-v2") == "EPYC-Rome")
        #expect(CPUBaseline.generation("Haswell") > CPUBaseline.generation("Westmere"))
        #expect(CPUBaseline.generation("qemu64") < CPUBaseline.generation("SomeFutureCPU"))
        #expect(CPUBaseline.ranks("Westmere", above: "Westmere-v1", features: Self.features))
        #expect(CPUBaseline.ranks("Nehalem", above: "Haswell", features: ["Nehalem": ["a", "b"], "Haswell": ["a"]]), "features first")
    }
}
