import Foundation

extension EtcdClient {
    /// Returns when a key under any of `prefixes` changes after `revision`,
    /// or after `atMost` in any case: callers read afresh either way, so a
    /// watch that breaks (an etcd member going away) costs only a delay.
    func waitForChange(under prefixes: [String], after revision: Int64, atMost: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            for prefix in prefixes {
                group.addTask {
                    do {
                        for try await _ in self.watch(prefix: prefix, fromRevision: revision + 1) { return }
                    } catch {}
                    try? await Task.sleep(for: atMost)
                }
            }
            group.addTask { try? await Task.sleep(for: atMost) }
            _ = await group.next()
            group.cancelAll()
        }
    }
}
