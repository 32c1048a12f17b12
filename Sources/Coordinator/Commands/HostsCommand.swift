import Foundation
import ArgumentParser
import Shared

struct HostsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hosts",
        abstract: "List every configured host with what its agent reports.",
        discussion: """
            Asks all hosts at once. A host that cannot be reached (SSH refused or \
            silent, host key unknown or changed, agent not running) is listed as \
            down with the reason; the others still answer. The exit status is 0 \
            when the list could be made, whatever the hosts' states.

            Columns: HOST, STATE, CPUS, MEMORY (used/total offered to guests), LOAD \
            (1-minute), VMS, CPU (model), ACCEL (kvm or tcg, as the agent's probe \
            found), QEMU (version).
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Print JSON (an object with a \"hosts\" array) instead of a table.")
    var json = false

    struct Output: Codable {
        var hosts: [HostReport]
    }

    func run() async throws {
        let config = try global.loadConfig()
        let reports = await ClusterSurvey(config: config).survey()
        if json {
            try JSONOutput.print(Output(hosts: reports))
        } else {
            print(Self.table(reports))
        }
    }

    static func table(_ reports: [HostReport]) -> String {
        var table = TextTable("HOST", "STATE", "CPUS", "MEMORY", "LOAD", "VMS", "ACCEL", "QEMU", "CPU")
        var problems: [String] = []
        for report in reports {
            guard let inventory = report.inventory else {
                table.add(report.name, report.state.rawValue, "-", "-", "-", "-", "-", "-", "-")
                problems.append("\(report.name): \(report.reason ?? "no answer")")
                continue
            }
            let memory = "\(ByteFormat.string(inventory.memory.usedBytes))/\(ByteFormat.string(inventory.memory.totalBytes))"
            table.add(
                report.name, report.state.rawValue, "\(inventory.cpu.count)", memory,
                String(format: "%.2f", inventory.load.one), "\(inventory.vms.count)",
                inventory.accelerator.kind.rawValue, inventory.qemu?.version ?? "none", inventory.cpu.model)
            if let error = inventory.qemuError, inventory.accelerator.kind != .probing {
                problems.append("\(report.name): qemu: \(error)")
            }
            for pool in inventory.storagePools where !pool.reachable {
                problems.append("\(report.name): storage pool \(pool.name) unreachable: \(pool.error ?? "no reason given")")
            }
        }
        return ([table.render()] + (problems.isEmpty ? [] : ["", "Problems:"] + problems.map { "  \($0)" }))
            .joined(separator: "\n")
    }
}
