import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Shared

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the agent until SIGTERM or SIGINT.",
        discussion: """
            Reads its config (default \(AgentConfig.defaultPath); missing means defaults), \
            probes the accelerator and QEMU in the background, and answers the agent \
            protocol on its Unix socket. QEMU guests it starts outlive it.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Config file.", valueName: "path"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Listen on this socket instead of the config's.", valueName: "path"))
    var socket: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        var settings: AgentConfig
        do {
            settings = try AgentConfig.load(path: config)
        } catch {
            throw ValidationError("\(error)")
        }
        if let socket { settings.socket = socket }
        guard geteuid() == 0 else { throw ValidationError("ferry-agent serve must run as root (it starts QEMU and owns a root-only socket)") }

        // Everything the agent creates (socket, state) is root's alone.
        umask(0o077)
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "ferry-agent")
        logger[metadataKey: "host"] = "\(settings.name)"

        let events = EventBus()
        let storage = StoragePools(pools: settings.storagePools, hostName: settings.name, logger: logger)
        let inventory = InventoryService(config: settings, events: events, logger: logger, storage: storage)
        let vms = VMSupervisor(config: settings, logger: logger, host: inventory)
        await vms.recover()
        await inventory.attach(vms)
        let server = AgentSocketServer(
            path: settings.socket, router: AgentAPI.router(
                hostName: settings.name, inventory: inventory, vms: vms,
                fence: FenceGuard(stateDir: settings.stateDir, logger: logger)),
            events: events, logger: logger)
        let group = ServiceGroup(
            services: [inventory, storage, server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
