import ArgumentParser
import Foundation
import Shared

struct InventoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory",
        abstract: "Ask the running agent for this host's inventory and print it as JSON.",
        discussion: "A local check that the agent answers, without the coordinator or SSH."
    )

    @Option(name: .long, help: ArgumentHelp("Config file, for its socket path.", valueName: "path"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("The agent's socket.", valueName: "path"))
    var socket: String?

    func run() async throws {
        let path = try socket ?? AgentConfig.load(path: config).socket
        let client = AgentClient(stream: try FileDescriptorStream(socketPath: path))
        try await client.connect(client: "ferry-agent inventory")
        let inventory = try await client.call(AgentMethods.Inventory.self, Empty())
        await client.close()
        let encoder = AgentProtocol.encoder()
        encoder.outputFormatting.insert(.prettyPrinted)
        print(String(decoding: try encoder.encode(inventory), as: UTF8.self))
    }
}
