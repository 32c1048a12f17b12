import ArgumentParser
import Foundation
import Shared

struct CPUBaselineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cpu-baseline",
        abstract: "Name the newest CPU model every given host runs, for new VMs.",
        discussion: """
            A VM whose cpuModel is the baseline can move to any of these hosts. \
            "Newest" is the model with the most features (from QEMU); ties go to \
            the later CPU generation. Only fixed, migration-safe models count \
            (never host, max or base). Each host's CPU level (the agent's \
            cpuLevel) is taken into account, and the hosts that hold the \
            baseline down are named with the features they lack.

            Without HOST arguments, every configured host. A host that does not \
            answer, or whose QEMU is not known yet, is left out and named; the \
            exit status is then 1, as it is when no model runs everywhere.

            Examples:
              coord cpu-baseline
              coord cpu-baseline h1 h2 --json
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Hosts to find the baseline for (default: all configured hosts).")
    var hosts: [String] = []

    @Flag(name: .long, help: "Print the result as JSON (docs/json.md).")
    var json = false

    /// The JSON document: the baseline's result plus the hosts left out.
    struct Output: Codable {
        struct Skipped: Codable {
            var host: String
            var reason: String
        }

        var hosts: [String]
        var baseline: String?
        var features: [String]
        var hostDetails: [CPUBaseline.HostDetail]
        var skippedHosts: [Skipped]

        init(_ result: CPUBaseline.Result, skipped: [Skipped]) {
            hosts = result.hosts
            baseline = result.baseline
            features = result.features
            hostDetails = result.hostDetails
            skippedHosts = skipped
        }
    }

    func validate() throws {
        for host in hosts where !HostName.isValid(host) { throw ValidationError("'\(host)' is not a host name") }
    }

    func run() async throws {
        let config = try global.loadConfig()
        var names: [String] = []
        for host in hosts where !names.contains(host) { names.append(try config.host(named: host).name) }
        if names.isEmpty { names = config.hosts.map(\.name) }
        guard !names.isEmpty else { throw CoordError.invalidArgument("the config lists no hosts") }

        let reports = await ClusterSurvey(config: config).survey(hosts: names)
        var usable: [HostInventory] = []
        var skipped: [Output.Skipped] = []
        for report in reports {
            if let inventory = report.inventory, inventory.qemu != nil, inventory.accelerator.kind != .probing {
                usable.append(inventory)
            } else if let inventory = report.inventory {
                let why = inventory.accelerator.kind == .probing ? "its agent is still probing QEMU" : "QEMU unavailable: \(inventory.qemuError ?? "no reason given")"
                skipped.append(.init(host: report.name, reason: why))
            } else {
                skipped.append(.init(host: report.name, reason: "down: \(report.reason ?? "no answer")"))
            }
        }
        let result = CPUBaseline.compute(usable)
        if json {
            try JSONOutput.print(Output(result, skipped: skipped))
        } else {
            print(Self.describe(result, skipped: skipped))
        }
        if result.baseline == nil || !skipped.isEmpty { throw ExitCode(1) }
    }

    static func describe(_ result: CPUBaseline.Result, skipped: [Output.Skipped]) -> String {
        var lines: [String] = []
        let set = result.hosts.joined(separator: ", ")
        if result.hostDetails.isEmpty {
            return (["No host could tell which CPU models it runs"] + skipped.map { "\($0.host) left out: \($0.reason)" }).joined(separator: "\n")
        }
        if let baseline = result.baseline {
            lines.append("CPU baseline for \(set): \(baseline) (\(result.features.count) features)")
        } else {
            lines.append("No CPU model runs on every one of \(set.isEmpty ? "no hosts" : set)")
        }
        var table = TextTable("HOST", "CPU LEVEL", "BEST OWN MODEL")
        for host in result.hostDetails { table.add(host.host, host.cpuLevel ?? "-", host.best ?? "none") }
        lines.append(table.render())
        for host in result.hostDetails where host.limits {
            lines.append("\(host.host) limits the choice: without it the baseline would be \(host.withoutIt ?? "?"), "
                + "which \(host.host) cannot run (lacks \((host.lacks ?? []).joined(separator: ", "))\(host.cpuLevel.map { "; CPU level \($0)" } ?? ""))")
        }
        for host in skipped { lines.append("\(host.host) left out: \(host.reason)") }
        if let baseline = result.baseline { lines.append("Use cpuModel: \(baseline) in new VM specs so they can move between these hosts.") }
        return lines.joined(separator: "\n")
    }
}
