import ArgumentParser
import Foundation
import Shared

struct VMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vm",
        abstract: "Create, start, stop and inspect one VM.",
        discussion: """
            A VM is found by asking every host's agent, so NAME is all you give; \
            `coord vms` lists them all. VM names are 1-63 letters, digits, '-', \
            '_' or '.', starting with a letter or digit: anything else is refused \
            before any host is touched.
            """,
        subcommands: [
            VMCreateCommand.self, VMStartCommand.self, VMStopCommand.self, VMKillCommand.self,
            VMDeleteCommand.self, VMShowCommand.self, VMConsoleCommand.self,
        ]
    )
}

/// Options of every `coord vm` command that names a VM.
struct VMTarget: ParsableArguments {
    @Argument(help: "The VM's name.")
    var name: String

    func validate() throws {
        if let problem = VMName.problem(name) { throw ValidationError(problem.description) }
    }
}

struct VMCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Define a VM from a spec file and start it.",
        discussion: """
            The spec (YAML) names the VM, its vCPUs, memory, CPU model (a named \
            QEMU model, never host or max), a versioned machine type, disks \
            (nfs://server/export/file or a path on a shared mount; created with \
            their size when missing), NICs and how it boots; see docs/vm-spec.md. \
            The spec is checked here first: a bad one is refused with every \
            problem listed and nothing is created.

            --host auto picks the host: it must be up and not in maintenance, \
            have the memory, run the CPU model and machine type, and reach every \
            disk's storage pool; among those, the one left with the most free \
            memory wins. When no host qualifies, each host's reason is printed.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: [.customShort("f"), .long], help: ArgumentHelp("The VM spec (YAML).", valueName: "spec"))
    var file: String

    @Option(name: .long, help: ArgumentHelp("Host to create it on, or auto.", valueName: "host|auto"))
    var host: String = "auto"

    @Flag(name: .long, help: "Define the VM without starting it.")
    var noStart = false

    @Flag(name: .long, help: "Print the new VM as JSON.")
    var json = false

    func run() async throws {
        let spec = try VMSpecFile.load(file)
        let config = try global.loadConfig()
        let reports = await ClusterSurvey(config: config).survey()
        if let owner = reports.first(where: { $0.inventory?.vms.contains { $0.name == spec.name } ?? false }) {
            throw CoordError.conflict("a VM named \(spec.name) already exists on \(owner.name)")
        }
        let target = try await chooseHost(spec, config: config, reports: reports)
        for warning in VMSpecFile.warnings(for: spec) where !json { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        let info = try await AgentDialer(config: config).with(target) { client in
            try await client.call(AgentMethods.VMCreate.self, VMCreateParams(spec: spec, start: !noStart), timeout: 120)
        }
        if json {
            try JSONOutput.print(info)
        } else {
            print("\(info.name) created on \(info.host): \(info.state.rawValue)\(info.pid.map { ", QEMU pid \($0)" } ?? "")")
        }
    }

    private func chooseHost(_ spec: VMSpec, config: CoordConfig, reports: [HostReport]) async throws -> CoordConfig.Host {
        if host != "auto" { return try config.host(named: host) }
        // The journal's maintenance flags: a host being emptied gets nothing new.
        let maintenance = Set(try await config.openStore().maintenance().keys)
        let candidates = reports.map {
            PlacementHost(name: $0.name, inventory: $0.inventory, downReason: $0.reason, inMaintenance: maintenance.contains($0.name))
        }
        let decision = Placement.choose(spec, among: candidates)
        guard let chosen = decision.host else {
            throw CoordError.noPlacement(vm: spec.name, rejections: decision.rejections.map { "\($0.host): \($0.reason)" })
        }
        return try config.host(named: chosen)
    }
}
