import Shared
import Testing
@testable import Agent

/// A CPU level hides the features a host has beyond one model.
@Suite struct CPULevelTests {
    let features: [String: [String]] = [
        "Nehalem": ["lm", "sse4.1", "sse4.2", "ssse3"],
        "Westmere": ["aes", "lm", "pclmulqdq", "sse4.1", "sse4.2", "ssse3"],
        "Haswell": ["aes", "avx", "avx2", "fma", "lm", "pclmulqdq", "sse4.1", "sse4.2", "ssse3"],
        "qemu64": ["lm", "svm"],
        "base": [],
    ]
    let models = [
        CPUModel(name: "Haswell", unavailableFeatures: ["pcid"], migrationSafe: true),
        CPUModel(name: "Nehalem", unavailableFeatures: [], migrationSafe: true),
        CPUModel(name: "Westmere", unavailableFeatures: [], migrationSafe: true),
        CPUModel(name: "base", unavailableFeatures: [], migrationSafe: true),
        CPUModel(name: "qemu64", unavailableFeatures: [], migrationSafe: true),
    ]

    func model(_ name: String, in masked: CPULevel.Masked) throws -> CPUModel {
        try #require(masked.models.first { $0.name == name })
    }

    @Test func withoutALevelOnlyRunnableModelsGainTheirFeatures() throws {
        let masked = CPULevel.apply(level: nil, to: models, features: features, qemuVersion: "7.2.0")
        #expect(masked.problem == nil)
        #expect(masked.models.map(\.unavailableFeatures) == models.map(\.unavailableFeatures))
        #expect(try model("Westmere", in: masked).features == features["Westmere"])
        #expect(try model("Haswell", in: masked).features == nil, "not runnable: no feature list")
    }

    @Test func aLevelAddsTheFeaturesBeyondItAndKeepsTheHostsOwn() throws {
        let masked = CPULevel.apply(level: "Nehalem", to: models, features: features, qemuVersion: "7.2.0")
        #expect(masked.problem == nil)
        #expect(try model("Nehalem", in: masked).runnable)
        #expect(try model("base", in: masked).runnable)
        #expect(try model("Westmere", in: masked).unavailableFeatures == ["aes", "pclmulqdq"])
        #expect(try model("Haswell", in: masked).unavailableFeatures == ["pcid", "aes", "avx", "avx2", "fma", "pclmulqdq"])
        #expect(try model("qemu64", in: masked).unavailableFeatures == ["svm"])
        #expect(try model("Westmere", in: masked).features == nil)
        #expect(try model("Nehalem", in: masked).features == features["Nehalem"])
    }

    @Test func aHostFeatureAlsoBeyondTheLevelIsListedOnce() throws {
        var lacking = models
        lacking[2].unavailableFeatures = ["aes"]
        let masked = CPULevel.apply(level: "Nehalem", to: lacking, features: features, qemuVersion: "7.2.0")
        #expect(try model("Westmere", in: masked).unavailableFeatures == ["aes", "pclmulqdq"])
    }

    @Test func aModelWithoutAnExpansionCannotBeShownToFit() throws {
        var partial = features
        partial["Westmere"] = nil
        let masked = CPULevel.apply(level: "Haswell", to: models, features: partial, qemuVersion: "7.2.0")
        #expect(try model("Westmere", in: masked).unavailableFeatures == [CPULevel.featuresUnknown])
        #expect(try model("Nehalem", in: masked).runnable)
    }

    @Test func anUnknownLevelMakesNothingRunnableAndSaysWhy() throws {
        let masked = CPULevel.apply(level: "Westmre", to: models, features: features, qemuVersion: "7.2.0")
        #expect(masked.models.allSatisfy { !$0.runnable && $0.features == nil })
        #expect(masked.problem?.contains("'Westmre' is not a CPU model QEMU 7.2.0 knows") == true)
        let unexpanded = CPULevel.apply(level: "Westmere", to: models, features: [:], qemuVersion: "7.2.0")
        #expect(unexpanded.models.allSatisfy { !$0.runnable })
        #expect(unexpanded.problem?.contains("could not expand CPU level Westmere") == true)
    }

    @Test func levelNamesAreCheckedBeforeQEMUIsAsked() {
        #expect(CPULevel.problem("Westmere") == nil)
        #expect(CPULevel.problem("Opteron_G2") == nil)
        #expect(CPULevel.problem("Westmere-v2") == nil)
        #expect(CPULevel.problem("host") != nil)
        #expect(CPULevel.problem("max") != nil)
        #expect(CPULevel.problem("") != nil)
        #expect(CPULevel.problem("a b") != nil)
        #expect(CPULevel.problem("Westmere,+avx") != nil)
    }

    /// The real probe under TCG with the lab's default level for h3.
    @Test func theProbeMasksModelsBeyondTheLevel() async throws {
        let probe = QEMUCapabilityProbe(qemuBinary: "qemu-system-x86_64", accelerator: .tcg, cpuLevel: "Opteron_G2")
        let result = try await probe.run()
        #expect(result.problem == nil && result.warning == nil)
        let qemu = result.inventory
        #expect(qemu.cpuLevel == "Opteron_G2")
        let byName = Dictionary(qemu.cpuModels.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        #expect(byName["qemu64"]?.runnable == true, "the lab guest's model must run on a host at this level")
        #expect(byName["Opteron_G2"]?.runnable == true)
        let westmere = try #require(byName["Westmere"])
        #expect(!westmere.runnable)
        #expect(Set(westmere.unavailableFeatures).isSuperset(of: ["aes", "sse4.2", "ssse3"]))
        #expect(byName["qemu64"]?.features?.contains("lm") == true)

        let unmasked = try await QEMUCapabilityProbe(qemuBinary: "qemu-system-x86_64", accelerator: .tcg).run().inventory
        #expect(unmasked.cpuLevel == nil)
        #expect(unmasked.cpuModels.first { $0.name == "Westmere" }?.runnable == true)
    }
}
