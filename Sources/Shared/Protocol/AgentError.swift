/// An error the agent sends back instead of a result. The code is for
/// programs, the message for people.
public struct AgentError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// Open set of error codes: a client still decodes a code that a newer
    /// agent invents.
    public struct Code: OpenStringEnum {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The line is not JSON, or not a request.
        public static let parseError = Code(rawValue: "parseError")
        public static let messageTooLarge = Code(rawValue: "messageTooLarge")
        public static let unknownMethod = Code(rawValue: "unknownMethod")
        public static let invalidParams = Code(rawValue: "invalidParams")
        public static let handshakeRequired = Code(rawValue: "handshakeRequired")
        public static let unsupportedVersion = Code(rawValue: "unsupportedVersion")
        public static let notFound = Code(rawValue: "notFound")
        public static let conflict = Code(rawValue: "conflict")
        public static let unavailable = Code(rawValue: "unavailable")
        public static let internalError = Code(rawValue: "internalError")
        /// The request's fence epoch is older than one the agent has seen:
        /// its coordinator no longer leads.
        public static let fenced = Code(rawValue: "fenced")
    }
}
