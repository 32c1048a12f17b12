/// One call of the agent protocol: a name on the wire plus the typed shape of
/// its parameters and its result. Both sides use the same type, so a request
/// and its reply cannot drift apart.
public protocol AgentMethod: Sendable {
    associatedtype Params: Codable & Sendable
    associatedtype Result: Codable & Sendable
    static var name: String { get }
}

/// Parameters or result of a call that carries nothing.
public struct Empty: Codable, Sendable, Equatable {
    public init() {}
}

/// The calls an agent answers. Add new calls here, never rename old ones.
public enum AgentMethods {
    /// The first call on every connection: agrees on a protocol version.
    public enum Hello: AgentMethod {
        public static let name = "hello"
        public typealias Params = HelloParams
        public typealias Result = HelloResult
    }

    /// What the host has and runs.
    public enum Inventory: AgentMethod {
        public static let name = "inventory"
        public typealias Params = Empty
        public typealias Result = HostInventory
    }

    /// Starts the event stream on this connection for the given topics.
    public enum Subscribe: AgentMethod {
        public static let name = "subscribe"
        public typealias Params = SubscribeParams
        public typealias Result = Empty
    }

    /// Answers at once; used to measure the round trip and keep links alive.
    public enum Ping: AgentMethod {
        public static let name = "ping"
        public typealias Params = Empty
        public typealias Result = Empty
    }
}

public struct HelloParams: Codable, Sendable, Equatable {
    /// Every protocol version the client can speak.
    public var versions: [Int]
    public var client: String

    public init(versions: [Int] = [AgentProtocol.version], client: String) {
        self.versions = versions
        self.client = client
    }
}

public struct HelloResult: Codable, Sendable, Equatable {
    public var version: Int
    public var agent: String
    public var host: String

    public init(version: Int, agent: String, host: String) {
        self.version = version
        self.agent = agent
        self.host = host
    }
}

public struct SubscribeParams: Codable, Sendable, Equatable {
    public var topics: [EventTopic]
    public init(topics: [EventTopic]) { self.topics = topics }
}
