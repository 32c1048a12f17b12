/// Where each piece of cluster state lives in etcd, under one prefix.
struct ClusterKeys: Sendable {
    /// Ends with "/".
    let prefix: String

    init(prefix: String = "/ferry/") {
        self.prefix = prefix.hasSuffix("/") ? prefix : prefix + "/"
    }

    var leader: String { prefix + "leader" }
    /// A UUID the first leader writes: names this cluster to the agents.
    var clusterID: String { prefix + "cluster-id" }
    var migrations: String { prefix + "migrations/" }
    func migration(_ id: String) -> String { migrations + id }
    func steps(_ id: String) -> String { prefix + "steps/\(id)/" }
    func step(_ id: String, _ seq: Int) -> String { steps(id) + String(format: "%06d", seq) }
    func lock(_ vm: String) -> String { prefix + "locks/" + vm }
    var maintenancePrefix: String { prefix + "maintenance/" }
    func maintenance(_ host: String) -> String { maintenancePrefix + host }
    var operations: String { prefix + "ops/" }
    func operation(_ id: String) -> String { operations + id }
    func operationEvents(_ id: String) -> String { prefix + "op-events/\(id)/" }
    func operationEvent(_ id: String, _ seq: Int) -> String { operationEvents(id) + String(format: "%08d", seq) }
}
