import ArgumentParser
import Shared

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Say whether a VM could migrate to a host, and why not.",
        discussion: """
            Runs the checks made before every migration, changing nothing: the target \
            is another host, is up and not in maintenance; it runs the VM's CPU model \
            (within its CPU level) and has its machine type; its QEMU is not older \
            than the source's; it has the memory (guest RAM plus QEMU overhead); and \
            every disk is on storage it sees as the same (nfs:// disks: the target \
            opens the file through libnfs; paths: the source writes a token beside \
            the disk, the target must read it back; the token is removed again).

            Each check prints ok or REFUSED with what was found and what to do. The \
            exit status is 0 only when every check passed.

            Examples:
              coord check vm1 --to h2
              coord check vm1 --to h3 --json
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var vm: VMTarget

    @Option(name: .long, help: ArgumentHelp("The host to check against, as named in the config.", valueName: "host"))
    var to: String

    @Flag(name: .long, help: "Print the report as JSON (docs/json.md).")
    var json = false

    func validate() throws {
        guard HostName.isValid(to) else { throw ValidationError("--to '\(to)' is not a host name") }
    }

    func run() async throws {
        let config = try global.loadConfig()
        _ = try config.host(named: to)
        let maintenance = Set(try await config.openStore().maintenance().keys)
        let report = try await PrecheckRunner(config: config, maintenance: maintenance).run(vm: vm.name, to: to)
        if json {
            try JSONOutput.print(report)
        } else {
            print(Self.describe(report))
        }
        if !report.ok { throw ExitCode(1) }
    }

    static func describe(_ report: PrecheckReport) -> String {
        let failed = report.checks.filter { !$0.passed }.count
        let verdict = failed == 0 ? "can migrate" : "REFUSED (\(failed) of \(report.checks.count) checks failed)"
        var table = TextTable("", "CHECK", "DETAIL")
        for check in report.checks { table.add(check.passed ? "ok" : "REFUSED", check.name, check.detail) }
        return "\(report.vm) on \(report.source) to \(report.target): \(verdict)\n" + table.render()
    }
}
