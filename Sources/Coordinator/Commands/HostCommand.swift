import ArgumentParser
import Foundation
import Shared

struct HostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "host",
        abstract: "Look at one host.",
        subcommands: [Show.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show everything one host's agent reports: CPU, runnable CPU models, machine types, memory, storage, VMs.",
            discussion: "Exits non-zero when the host cannot be reached, after saying why."
        )

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The host's name, as in the config.")
        var host: String

        @Flag(name: .long, help: "Print the host's report as JSON.")
        var json = false

        func run() async throws {
            let config = try global.loadConfig()
            _ = try config.host(named: host)
            guard let report = await ClusterSurvey(config: config).survey(hosts: [host]).first else {
                throw CoordError.unknownHost(host, known: config.hosts.map(\.name))
            }
            if json {
                try JSONOutput.print(report)
            } else {
                print(Self.describe(report))
            }
            if report.state == .down { throw ExitCode(1) }
        }

        static func describe(_ report: HostReport) -> String {
            guard let inventory = report.inventory else {
                return "\(report.name) (\(report.address)): down\n  \(report.reason ?? "no answer")"
            }
            let qemu = inventory.qemu
            var qemuLine = qemu.map { "\($0.version) (\($0.binary))" } ?? "unavailable: \(inventory.qemuError ?? "unknown")"
            if let level = qemu?.cpuLevel { qemuLine += ", CPU level \(level)" + (inventory.qemuError.map { ": \($0)" } ?? "") }
            let lines: [String] = [
                "\(report.name) (\(report.address)): up, agent \(inventory.agentVersion)",
                "  CPU           \(inventory.cpu.vendor) \(inventory.cpu.model), \(inventory.cpu.count) CPUs, \(Int(inventory.cpu.utilisation * 100))% busy",
                "  Load          \(inventory.load.one) \(inventory.load.five) \(inventory.load.fifteen)",
                "  Memory        \(ByteFormat.string(inventory.memory.availableBytes)) free of \(ByteFormat.string(inventory.memory.totalBytes)) offered to guests",
                "  Accelerator   \(inventory.accelerator.kind.rawValue): \(inventory.accelerator.detail)",
                "  QEMU          \(qemuLine)",
                "  Machine types \(qemu?.machineTypes.map(\.name).joined(separator: " ") ?? "-")",
                "  Runnable CPU models \(qemu?.runnableCPUModels.joined(separator: " ") ?? "-")",
                "  Storage pools \(inventory.storagePools.isEmpty ? "none" : inventory.storagePools.map { "\($0.name) (\($0.reachable ? "reachable" : "UNREACHABLE"))" }.joined(separator: ", "))",
                "  VMs           \(inventory.vms.isEmpty ? "none" : inventory.vms.map(\.name).joined(separator: ", "))",
                "  CPU flags     \(inventory.cpu.flags.joined(separator: " "))",
            ]
            return lines.joined(separator: "\n")
        }
    }
}
