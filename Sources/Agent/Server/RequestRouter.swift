import Foundation
import Shared

/// Turns one protocol frame into one reply line. It never throws and never
/// crashes on what a client sends: every bad frame gets an error reply.
struct RequestRouter: Sendable {
    typealias Handler = @Sendable (_ id: UInt64, _ line: [UInt8], _ connection: AgentConnection) async -> [UInt8]

    private var handlers: [String: Handler] = [:]
    /// Refuses requests from a deposed cluster leader; nil in unit tests.
    var fence: FenceGuard?

    /// Registers the body of one method; params are decoded and results
    /// encoded here, so bodies deal in typed values only.
    mutating func on<M: AgentMethod>(
        _ method: M.Type, _ body: @escaping @Sendable (M.Params, AgentConnection) async throws -> M.Result
    ) {
        handlers[M.name] = { id, line, connection in
            let params: M.Params
            do {
                params = try Self.decodeParams(M.Params.self, from: line)
            } catch {
                return Self.errorLine(id: id, AgentError(.invalidParams, "\(M.name): \(Self.describe(error))"))
            }
            do {
                let result = try await body(params, connection)
                return try AgentProtocol.line(ResponseEnvelope(id: id, result: result))
            } catch let error as AgentError {
                return Self.errorLine(id: id, error)
            } catch {
                return Self.errorLine(id: id, AgentError(.internalError, "\(M.name): \(error)"))
            }
        }
    }

    var methods: [String] { handlers.keys.sorted() }

    func reply(to frame: LineFramer.Frame, on connection: AgentConnection) async -> [UInt8] {
        guard case .line(let line) = frame else {
            return Self.errorLine(id: nil, AgentError(.messageTooLarge, "message longer than \(AgentProtocol.maxMessageBytes) bytes was skipped"))
        }
        let decoder = AgentProtocol.decoder()
        guard let header = try? decoder.decode(RequestHeader.self, from: Data(line)) else {
            struct IDOnly: Decodable { var id: UInt64? }
            let id = (try? decoder.decode(IDOnly.self, from: Data(line)))?.id
            return Self.errorLine(id: id, AgentError(.parseError, "not a request: expected one JSON object with \"id\", \"method\" and \"params\""))
        }
        if header.method != AgentMethods.Hello.name, await !connection.greeted {
            return Self.errorLine(id: header.id, AgentError(.handshakeRequired, "send \"hello\" before \"\(header.method)\""))
        }
        guard let handler = handlers[header.method] else {
            return Self.errorLine(id: header.id, AgentError(.unknownMethod, "unknown method \"\(header.method)\"; known: \(methods.joined(separator: ", "))"))
        }
        if let fence {
            do {
                try await fence.admit(header.fence, method: header.method)
            } catch let error as AgentError {
                return Self.errorLine(id: header.id, error)
            } catch {
                return Self.errorLine(id: header.id, AgentError(.internalError, "\(error)"))
            }
        }
        return await handler(header.id, line, connection)
    }

    /// A request may leave out `params` when the method takes none.
    static func decodeParams<P: Decodable>(_ type: P.Type, from line: [UInt8]) throws -> P {
        let decoder = AgentProtocol.decoder()
        if let params = try decoder.decode(ParamsOnly<P>.self, from: Data(line)).params { return params }
        return try decoder.decode(P.self, from: Data("{}".utf8))
    }

    static func errorLine(id: UInt64?, _ error: AgentError) -> [UInt8] {
        // Encoding a struct of a string and an optional number cannot fail.
        (try? AgentProtocol.line(ResponseEnvelope<Empty>(id: id, error: error))) ?? Array("{\"error\":{\"code\":\"internalError\",\"message\":\"\"}}\n".utf8)
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            "missing \(path(context.codingPath + [key]))"
        case DecodingError.typeMismatch(let type, let context), DecodingError.valueNotFound(let type, let context):
            "\(path(context.codingPath)) should be \(type)"
        case DecodingError.dataCorrupted(let context):
            "\(path(context.codingPath)): \(context.debugDescription)"
        default:
            "\(error)"
        }
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.isEmpty ? "params" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}

private struct ParamsOnly<P: Decodable>: Decodable {
    var params: P?
}
