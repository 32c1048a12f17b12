import Foundation
import Shared
import Testing

/// `query-cpu-model-expansion` against a real QEMU (`-machine none`).
@Suite(.serialized) struct QMPCPUModelExpansionTests {
    @Test func staticExpansionsListCanonicalFeaturesThatCompare() async throws {
        try await withQEMU(.machineNone) { _, client in
            let westmere = Set(try await client.cpuModelExpansion("Westmere").enabledFeatures)
            let nehalem = Set(try await client.cpuModelExpansion("Nehalem").enabledFeatures)
            #expect(westmere.isSuperset(of: ["sse4.2", "aes", "pclmulqdq", "lm"]))
            // Static expansions name each feature once: no sse4_2/sse4-2 aliases, no switches such as `check`.
            #expect(!westmere.contains("sse4_2") && !westmere.contains("check"))
            #expect(nehalem.isStrictSubset(of: westmere))
            #expect(westmere.subtracting(nehalem) == ["aes", "arat", "pclmulqdq"])
        }
    }

    @Test func anUnknownModelIsATypedError() async throws {
        _ = try await withQEMU(.machineNone) { _, client in
            await #expect(throws: QMP.CommandError.self) { try await client.cpuModelExpansion("NoSuchCPU") }
        }
    }
}
