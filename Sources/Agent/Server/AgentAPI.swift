import Shared

/// The agent's answer to each protocol method.
enum AgentAPI {
    static func router(hostName: String, inventory: InventoryService, vms: VMSupervisor, fence: FenceGuard? = nil) -> RequestRouter {
        var router = RequestRouter()
        router.fence = fence
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
        registerStorage(on: &router, storage: inventory.storage)
        router.on(AgentMethods.Subscribe.self) { params, connection in
            await connection.subscribe(to: Set(params.topics))
            return Empty()
        }
        router.on(AgentMethods.VMCreate.self) { params, _ in try await vms.create(params.spec, start: params.start) }
        router.on(AgentMethods.VMStart.self) { params, _ in try await vms.start(params.name) }
        router.on(AgentMethods.VMStop.self) { params, _ in try await vms.stop(params.name, timeout: params.timeoutSeconds) }
        router.on(AgentMethods.VMKill.self) { params, _ in try await vms.kill(params.name) }
        router.on(AgentMethods.VMDelete.self) { params, _ in try await vms.delete(params.name, keepDisks: params.keepDisks) }
        router.on(AgentMethods.VMList.self) { _, _ in await vms.list() }
        router.on(AgentMethods.VMShow.self) { params, _ in try await vms.show(params.name) }
        router.on(AgentMethods.VMConsole.self) { params, _ in try await vms.console(params) }
        router.on(AgentMethods.MigrationPrepare.self) { params, _ in try await vms.prepareIncoming(params) }
        router.on(AgentMethods.MigrationStart.self) { params, _ in try await vms.startOutgoing(params) }
        router.on(AgentMethods.MigrationStatus.self) { params, _ in try await vms.status(params) }
        router.on(AgentMethods.MigrationMeasureDirtyRate.self) { params, _ in try await vms.measureDirtyRate(params) }
        router.on(AgentMethods.MigrationSwitchover.self) { params, _ in try await vms.switchover(params) }
        router.on(AgentMethods.MigrationStartPostcopy.self) { params, _ in try await vms.startPostcopy(params) }
        router.on(AgentMethods.MigrationRollback.self) { params, _ in try await vms.rollbackOutgoing(params) }
        router.on(AgentMethods.MigrationResumeTarget.self) { params, _ in try await vms.resumeTarget(params) }
        router.on(AgentMethods.MigrationCommit.self) { params, _ in try await vms.commitIncoming(params) }
        router.on(AgentMethods.MigrationAbortIncoming.self) { params, _ in try await vms.abortIncoming(params); return Empty() }
        router.on(AgentMethods.MigrationRelease.self) { params, _ in try await vms.releaseOutgoing(params); return Empty() }
        router.on(AgentMethods.MigrationPause.self) { params, _ in try await vms.pauseForMigration(params) }
        router.on(AgentMethods.MigrationRemoveCopy.self) { params, _ in try await vms.removeUnusedCopy(params.location); return Empty() }
        return router
    }
}
