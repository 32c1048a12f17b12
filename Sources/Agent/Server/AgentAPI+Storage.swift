import Shared

/// The storage methods, with storage and NFS failures turned into protocol
/// errors: a location the agent refuses is `invalidParams`, storage that does
/// not answer is `unavailable`.
extension AgentAPI {
    static func registerStorage(on router: inout RequestRouter, storage: StoragePools) {
        router.on(AgentMethods.StorageTokenWrite.self) { params, _ in
            try await agentErrors { try await storage.writeToken(beside: params.location) }
        }
        router.on(AgentMethods.StorageTokenRead.self) { params, _ in
            try await agentErrors { try await storage.readToken(beside: params.location, token: params.token) }
        }
        router.on(AgentMethods.StorageTokenRemove.self) { params, _ in
            try await agentErrors { try await storage.removeToken(beside: params.location, token: params.token) }
            return Empty()
        }
        router.on(AgentMethods.StorageDiskCheck.self) { params, _ in
            try await agentErrors { try await storage.checkDisk(params.location) }
        }
        router.on(AgentMethods.DiskDigest.self) { params, _ in try await agentErrors { try await storage.digest(params.location) } }
        router.on(AgentMethods.DiskRead.self) { params, _ in try await agentErrors { try await storage.readChunk(params) } }
        router.on(AgentMethods.DiskWrite.self) { params, _ in
            try await agentErrors { try await storage.writeChunk(params) }
            return Empty()
        }
        router.on(AgentMethods.DiskCommit.self) { params, _ in try await agentErrors { try await storage.commitCopy(params) } }
        router.on(AgentMethods.DiskDiscardPartial.self) { params, _ in
            try await agentErrors { try await storage.discardPartial(params.location) }
            return Empty()
        }
    }

    private static func agentErrors<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StorageError {
            switch error {
            case .invalidLocation, .outsidePools, .escapesPool, .invalidToken, .unknownPool:
                throw AgentError(.invalidParams, error.description)
            case .misconfigured, .timedOut, .io:
                throw AgentError(.unavailable, error.description)
            }
        } catch let error as NFSError {
            throw AgentError(.unavailable, error.description)
        }
    }
}
