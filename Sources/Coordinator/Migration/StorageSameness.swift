import Shared

/// Asks the source's and the target's agents whether each disk is on storage
/// both see as the same:
/// - `nfs://` disks: both open the file through libnfs (`storage.disk.check`);
///   the target must find it, with the size the source sees;
/// - paths: the source writes a token beside the disk, the target must read
///   it back (`storage.token.*`) and find the disk; the token is removed
///   again whatever happened.
struct StorageSameness: Sendable {
    let config: CoordConfig

    private var timeout: Double { config.requestTimeoutSeconds ?? 30 }

    func check(_ locations: [String], from source: String, to target: String) async -> [DiskSameness] {
        let dialer = AgentDialer(config: config)
        let sourceLink: AgentLink
        do {
            sourceLink = try await dialer.connect(try config.host(named: source))
        } catch {
            return locations.map { DiskSameness(location: $0, shared: false, detail: "not checked: cannot reach \(source): \(error)") }
        }
        let targetLink: AgentLink
        do {
            targetLink = try await dialer.connect(try config.host(named: target))
        } catch {
            await sourceLink.close()
            return locations.map { DiskSameness(location: $0, shared: false, detail: "not checked: cannot reach \(target): \(error)") }
        }
        var results: [DiskSameness] = []
        for location in locations {
            let sides = Sides(source: sourceLink, target: targetLink, timeout: timeout)
            results.append(location.lowercased().hasPrefix("nfs://") ? await sides.nfs(location) : await sides.path(location))
        }
        await sourceLink.close()
        await targetLink.close()
        return results
    }
}

/// One disk's check over the two open links.
private struct Sides {
    let source: AgentLink
    let target: AgentLink
    let timeout: Double

    func nfs(_ location: String) async -> DiskSameness {
        func result(_ shared: Bool, _ detail: String) -> DiskSameness { DiskSameness(location: location, shared: shared, detail: detail) }
        let there: StorageDiskStatus
        do {
            there = try await target.client.call(AgentMethods.StorageDiskCheck.self, .init(location: location), timeout: timeout)
        } catch {
            return result(false, "\(target.host) cannot open \(location): \(Self.reason(error))")
        }
        guard there.exists else {
            return result(false, "\(target.host) reaches pool \(there.pool) but finds no \(location) there (another server or export behind the same name?)")
        }
        let here: StorageDiskStatus
        do {
            here = try await source.client.call(AgentMethods.StorageDiskCheck.self, .init(location: location), timeout: timeout)
        } catch {
            return result(false, "\(source.host) cannot open its own disk \(location) to compare: \(Self.reason(error))")
        }
        guard here.sizeBytes == there.sizeBytes else {
            let size = { (status: StorageDiskStatus) in status.sizeBytes.map { "\($0) bytes" } ?? "no file" }
            return result(false, "\(target.host) sees \(location) with \(size(there)), \(source.host) with \(size(here)): not the same file")
        }
        return result(true, "\(target.host) opens \(location) through libnfs (pool \(there.pool), same size as on \(source.host))")
    }

    func path(_ location: String) async -> DiskSameness {
        func result(_ shared: Bool, _ detail: String) -> DiskSameness { DiskSameness(location: location, shared: shared, detail: detail) }
        let written: StorageTokenWritten
        do {
            written = try await source.client.call(AgentMethods.StorageTokenWrite.self, .init(location: location), timeout: timeout)
        } catch {
            return result(false, "\(source.host) cannot write a token beside \(location): \(Self.reason(error))")
        }
        var outcome: DiskSameness
        do {
            let read = try await target.client.call(
                AgentMethods.StorageTokenRead.self, .init(location: location, token: written.token), timeout: timeout)
            if !read.found {
                outcome = result(
                    false,
                    "\(target.host) does not see the token \(source.host) wrote beside \(location): its pool \(read.pool) is not the same storage as \(source.host)'s pool \(written.pool) there")
            } else {
                let disk = try await target.client.call(AgentMethods.StorageDiskCheck.self, .init(location: location), timeout: timeout)
                outcome = disk.exists
                    ? result(true, "\(target.host) reads the token \(source.host) wrote beside \(location) (pool \(read.pool))")
                    : result(false, "\(target.host) sees \(source.host)'s token beside \(location) but not the disk itself")
            }
        } catch {
            outcome = result(false, "\(target.host) cannot look beside \(location) for \(source.host)'s token: \(Self.reason(error))")
        }
        do {
            _ = try await source.client.call(AgentMethods.StorageTokenRemove.self, .init(location: location, token: written.token), timeout: timeout)
        } catch {
            outcome.detail += " (and \(source.host) could not remove its token .ferry-tokens/\(written.token.name) there: \(Self.reason(error)))"
        }
        return outcome
    }

    /// An agent's refusal in its own words, without the code prefix.
    static func reason(_ error: any Error) -> String {
        (error as? AgentError)?.message ?? "\(error)"
    }
}
