import Testing
@testable import Agent

@Suite struct ProcFilesTests {
    @Test func cpuInfoTakesTheFirstCPUsFieldsAndCountsProcessors() {
        let text = """
            processor\t: 0
            vendor_id\t: GenuineIntel
            model name\t: Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz
            flags\t\t: fpu vme sse2 avx2
            
            processor\t: 1
            vendor_id\t: GenuineIntel
            model name\t: Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz
            flags\t\t: fpu vme sse2 avx2
            """
        let info = ProcFiles.parseCPUInfo(text)
        #expect(info == .init(vendor: "GenuineIntel", model: "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz", flags: ["fpu", "vme", "sse2", "avx2"], count: 2))
    }

    @Test func memInfoInBytes() {
        let text = "MemTotal:       24576000 kB\nMemFree:        20000000 kB\nMemAvailable:   22000000 kB\n"
        #expect(ProcFiles.parseMemInfo(text) == .init(totalBytes: 24_576_000 * 1024, availableBytes: 22_000_000 * 1024))
        #expect(ProcFiles.parseMemInfo("MemTotal: 1 kB\n") == nil)
    }

    @Test func loadAverage() {
        let load = ProcFiles.parseLoadAverage("0.52 0.58 0.59 1/467 12345\n")
        #expect(load?.one == 0.52 && load?.five == 0.58 && load?.fifteen == 0.59)
        #expect(ProcFiles.parseLoadAverage("garbage") == nil)
    }

    @Test func cpuUtilisationBetweenSamples() throws {
        let before = try #require(ProcFiles.parseCPUTimes("cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4 5\n"))
        let after = try #require(ProcFiles.parseCPUTimes("cpu  200 0 200 1400 200 0 0 0 0 0\n"))
        // 200 busy jiffies out of 1000.
        #expect(abs(after.utilisation(since: before) - 0.2) < 1e-9)
        #expect(before.utilisation(since: before) == 0)
    }

    @Test func offeredMemoryHonoursTheCapAndCommittedGuests() {
        let machine = ProcFiles.MemInfo(totalBytes: 24 << 30, availableBytes: 20 << 30)
        let capped = InventoryService.offeredMemory(machine: machine, capMiB: 4096, committedBytes: 1 << 30)
        #expect(capped.totalBytes == 4 << 30)
        #expect(capped.availableBytes == 3 << 30)
        let uncapped = InventoryService.offeredMemory(machine: machine, capMiB: nil, committedBytes: 0)
        #expect(uncapped.totalBytes == 24 << 30 && uncapped.availableBytes == 20 << 30)
        let overCommitted = InventoryService.offeredMemory(machine: machine, capMiB: 1024, committedBytes: 2 << 30)
        #expect(overCommitted.availableBytes == 0)
    }
}
