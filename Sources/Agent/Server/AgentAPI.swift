import Shared

/// The agent's answer to each protocol method.
enum AgentAPI {
    static func router(hostName: String, inventory: InventoryService) -> RequestRouter {
        var router = RequestRouter()
        router.on(AgentMethods.Hello.self) { params, connection in
            guard params.versions.contains(AgentProtocol.version) else {
                throw AgentError(
                    .unsupportedVersion,
                    "client speaks protocol \(params.versions.map(String.init).joined(separator: ", ")); this agent speaks \(AgentProtocol.version)")
            }
            await connection.markGreeted()
            return HelloResult(version: AgentProtocol.version, agent: "ferry-agent \(FerryVersion.current)", host: hostName)
        }
        router.on(AgentMethods.Ping.self) { _, _ in Empty() }
        router.on(AgentMethods.Inventory.self) { _, _ in await inventory.inventory() }
        router.on(AgentMethods.Subscribe.self) { params, connection in
            await connection.subscribe(to: Set(params.topics))
            return Empty()
        }
        return router
    }
}
