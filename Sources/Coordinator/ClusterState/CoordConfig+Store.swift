import Foundation

extension CoordConfig {
    var isCluster: Bool { store == .etcd }

    var clusterKeys: ClusterKeys { ClusterKeys(prefix: etcd?.prefix ?? "/ferry/") }

    /// This coordinator's name in the cluster.
    var coordinatorName: String { name ?? ProcessIdentity.hostname() }

    func etcdClient() throws -> EtcdClient {
        guard let etcd, isCluster else { throw CoordError.invalidConfig(path: "config", reason: "store: etcd needs etcd.endpoints") }
        return EtcdClient(endpoints: etcd.endpoints)
    }

    /// Commands that run migrations themselves cannot in a cluster: only the
    /// leader may act on agents (it alone holds the fence epoch).
    func refuseInCluster(_ command: String, instead: String) throws {
        guard isCluster else { return }
        throw CoordError.conflict("\(command) does not run in a coordinator cluster (store: etcd): only the leader migrates; \(instead)")
    }

    /// The state store a command reads and writes: the SQLite journal, or
    /// (store: etcd) the cluster's state, where a command may read and set
    /// maintenance but only the leader runs migrations.
    func openStore() throws -> any MigrationJournal {
        guard isCluster else { return try openJournal() }
        return EtcdJournal(client: try etcdClient(), keys: clusterKeys, leadership: nil)
    }
}
