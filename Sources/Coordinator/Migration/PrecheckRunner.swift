import Shared

/// What `coord check` prints as JSON, and what the executor gets before it
/// migrates: every check, and `ok` only when all of them passed.
struct PrecheckReport: Codable, Sendable, Equatable {
    var vm: String
    var source: String
    var target: String
    var ok: Bool
    var checks: [CheckResult]

    /// The failed checks, one line each, for an error message.
    var refusals: [String] { checks.filter { !$0.passed }.map { "\($0.name): \($0.detail)" } }
}

/// The I/O around MigrationChecks: finds the VM and its host, asks the
/// agents whether each disk is on storage the target sees as the same, and
/// evaluates the checks. Nothing is changed anywhere, except for the token
/// files, which are removed again before it returns.
struct PrecheckRunner: Sendable {
    let config: CoordConfig
    /// Hosts in maintenance; the journal's maintenance flags, supplied by the caller.
    var maintenance: Set<String>

    /// Surveys the cluster once, then checks `vm` against `target`.
    /// Throws when the VM cannot be found or the target is not configured.
    func run(vm name: String, to target: String) async throws -> PrecheckReport {
        if let problem = VMName.problem(name) { throw CoordError.invalidArgument(problem.description) }
        _ = try config.host(named: target)
        let reports = await ClusterSurvey(config: config).survey()
        let location = try VMLocator.locate(name, in: reports, config: config)
        guard let source = reports.first(where: { $0.name == location.host.name })?.inventory,
            let targetReport = reports.first(where: { $0.name == target })
        else {
            throw CoordError.notFound("\(name) or \(target) vanished from the survey")
        }
        return await run(vm: location.vm, source: source, target: targetReport)
    }

    /// Checks with inventories the caller already has (the executor's own survey).
    func run(vm: VMSummary, source: HostInventory, target: HostReport) async -> PrecheckReport {
        var disks: [DiskSameness] = []
        if let inventory = target.inventory, target.name != source.host, let locations = vm.disks, !locations.isEmpty {
            disks = await StorageSameness(config: config).check(locations, from: source.host, to: inventory.host)
        }
        let checks = MigrationChecks.evaluate(
            vm: vm, source: source, targetName: target.name, target: target.inventory, targetProblem: target.reason,
            maintenance: maintenance, storage: disks)
        return PrecheckReport(vm: vm.name, source: source.host, target: target.name, ok: checks.allSatisfy(\.passed), checks: checks)
    }
}
