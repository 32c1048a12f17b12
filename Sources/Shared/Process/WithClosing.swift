/// Runs `body` with an open resource (a connection, a client) and closes it
/// afterwards, whether `body` returned or threw.
public func withClosing<Resource: Sendable, Result>(
    _ resource: Resource, isolation: isolated (any Actor)? = #isolation,
    close: (Resource) async -> Void, _ body: (Resource) async throws -> Result
) async throws -> Result {
    do {
        let result = try await body(resource)
        await close(resource)
        return result
    } catch {
        await close(resource)
        throw error
    }
}
