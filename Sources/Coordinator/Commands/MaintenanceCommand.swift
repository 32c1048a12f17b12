import ArgumentParser
import Foundation

struct MaintenanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maintenance",
        abstract: "Put hosts in maintenance, take them out, list them.",
        discussion: """
            A host in maintenance receives no VM: placement (`coord vm create \
            --host auto`, evacuation and balancing plans) skips it, and a \
            migration to it is refused before anything is touched. VMs already \
            on it keep running; move them away with `coord evacuate H`.

            The flag is kept in the coordinator's journal, not on the host, so \
            these commands work while the host is down and need no agent.

            Examples:
              coord maintenance enter h3 --reason "BIOS update, ticket 4411"
              coord evacuate h3
              coord maintenance list
              coord maintenance exit h3
            """,
        subcommands: [Enter.self, Exit.self, List.self]
    )

    /// What enter and exit print with --json.
    struct Change: Codable {
        var host: String
        var inMaintenance: Bool
        var changed: Bool
        var since: Date?
        var reason: String?
    }

    struct Enter: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put a host in maintenance: nothing is placed on or migrated to it.",
            discussion: """
                Entering a host already in maintenance changes nothing but the \
                reason, when a new one is given; it keeps the original time. \
                This does not move the host's VMs: run `coord evacuate H` for that.
                """
        )

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The host, as named in the config.")
        var host: String

        @Option(name: .long, help: ArgumentHelp("Why, for the other operators (shown by list).", valueName: "text"))
        var reason: String?

        @Flag(name: .long, help: "Print what changed as JSON.")
        var json = false

        func run() async throws {
            let config = try global.loadConfig()
            _ = try config.host(named: host)
            let journal = try config.openStore()
            let changed = try await journal.setMaintenance(host, on: true, reason: reason)
            let entry = try await journal.maintenance(host: host)
            if json {
                try JSONOutput.print(Change(host: host, inMaintenance: true, changed: changed, since: entry?.since, reason: entry?.reason))
                return
            }
            let why = entry?.reason.map { " (\($0))" } ?? ""
            if changed {
                print("\(host) is now in maintenance\(why): no VM will be placed on or migrated to it. "
                    + "Its VMs keep running; `coord evacuate \(host)` moves them away.")
            } else {
                let since = entry.map { " since \(HistoryFormat.localTime($0.since))" } ?? ""
                print("\(host) was already in maintenance\(since)" + (reason == nil ? "\(why); nothing changed." : "; reason now: \(reason!)."))
            }
        }
    }

    struct Exit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take a host out of maintenance: it receives VMs again.",
            discussion: "Nothing moves back by itself; `coord balance` plans moves onto it."
        )

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The host, as named in the config.")
        var host: String

        @Flag(name: .long, help: "Print what changed as JSON.")
        var json = false

        func run() async throws {
            let config = try global.loadConfig()
            _ = try config.host(named: host)
            let changed = try await config.openStore().setMaintenance(host, on: false, reason: nil)
            if json {
                try JSONOutput.print(Change(host: host, inMaintenance: false, changed: changed))
            } else {
                print(changed ? "\(host) is out of maintenance: it receives VMs again." : "\(host) was not in maintenance; nothing changed.")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the hosts in maintenance, since when and why.",
            discussion: "A host that is flagged but no longer in the config is listed with a note."
        )

        @OptionGroup var global: GlobalOptions

        @Flag(name: .long, help: "Print JSON ({\"hosts\": [{\"name\", \"since\", \"reason\", \"inConfig\"}]}).")
        var json = false

        struct Entry: Codable {
            var name: String
            var since: Date
            var reason: String?
            var inConfig: Bool
        }

        struct Output: Codable {
            var hosts: [Entry]
        }

        func run() async throws {
            let config = try global.loadConfig()
            let configured = Set(config.hosts.map(\.name))
            let entries = try await config.openStore().maintenance()
                .map { Entry(name: $0.key, since: $0.value.since, reason: $0.value.reason, inConfig: configured.contains($0.key)) }
                .sorted { $0.name < $1.name }
            if json {
                try JSONOutput.print(Output(hosts: entries))
            } else {
                print(Self.table(entries))
            }
        }

        static func table(_ entries: [Entry]) -> String {
            guard !entries.isEmpty else { return "No host is in maintenance." }
            var table = TextTable("HOST", "SINCE", "REASON")
            for entry in entries {
                table.add(
                    entry.name + (entry.inConfig ? "" : " (not in config)"), HistoryFormat.localTime(entry.since),
                    entry.reason ?? "-")
            }
            return table.render()
        }
    }
}
