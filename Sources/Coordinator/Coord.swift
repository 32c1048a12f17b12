import ArgumentParser

@main
struct Coord: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coord",
        abstract: "Ferry's coordinator: see the cluster, place and move its virtual machines.",
        discussion: """
            coord talks to the Ferry agent on every host over SSH (libssh, strict \
            host-key checking) and never opens a port of its own unless told to serve.

            Configuration is read from --config PATH, else $COORD_CONFIG, else \
            ~/.config/coord/coord.yaml, else /etc/coord/coord.yaml.

            Every command that lists or reports takes --json for scripts; its shape \
            is documented in docs/json.md. The exit status is non-zero whenever \
            anything asked for did not happen.
            """,
        subcommands: [
            HostsCommand.self, HostCommand.self, MaintenanceCommand.self, CPUBaselineCommand.self, VMsCommand.self, VMCommand.self,
            CheckCommand.self, MigrateCommand.self, EvacuateCommand.self, HistoryCommand.self, RecoverCommand.self,
            SnapshotCommand.self, BalanceCommand.self, ServeCommand.self, BenchPlannerCommand.self, BenchJournalCommand.self,
        ]
    )

    @OptionGroup var global: GlobalOptions
}

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Configuration file (see coord --help for where it is looked for).", valueName: "path"))
    var config: String?

    func loadConfig() throws -> CoordConfig {
        try ConfigLocator(explicit: config).load()
    }
}
