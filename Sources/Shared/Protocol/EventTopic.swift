/// Kinds of event an agent pushes to subscribed connections.
public struct EventTopic: OpenStringEnum, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }

    /// The inventory changed (a probe finished, a VM came or went).
    public static let inventoryChanged = EventTopic(rawValue: "inventory.changed")
    /// A VM changed state (running, paused, stopped, migrating).
    public static let vmState = EventTopic(rawValue: "vm.state")
    /// Progress of a migration this agent takes part in.
    public static let migrationProgress = EventTopic(rawValue: "migration.progress")
}

/// Body of `inventory.changed`.
public struct InventoryChangedEvent: Codable, Sendable, Equatable {
    public var reason: String
    public init(reason: String) { self.reason = reason }
}
