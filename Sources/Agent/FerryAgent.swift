import ArgumentParser

@main
struct FerryAgent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry-agent",
        abstract: "The Ferry agent: reports what this host has and runs its QEMU guests.",
        discussion: """
            One agent runs on every hypervisor host, as root. It listens on a Unix \
            socket that only root can open and never on a TCP port; the coordinator \
            reaches it over SSH, either by forwarding to the socket or by running \
            `ferry-agent rpc --stdio` where forwarding is off.
            """,
        subcommands: [ServeCommand.self, RPCCommand.self, InventoryCommand.self]
    )
}
