import Foundation
import Shared
import Testing
@testable import Coordinator

@Suite struct CoordConfigTests {
    let sample = """
        knownHosts: ssh/known_hosts
        identityFile: /keys/id
        hostKeyPolicy: accept-new
        hosts:
          - {name: h1, address: 198.51.100.11}
          - {name: h2, address: 198.51.100.12, port: 2222, transport: exec, identityFile: k2}
        """

    @Test func relativePathsAreTakenFromTheConfigsFolder() throws {
        let config = try CoordConfig.parse(sample, path: "/etc/coord/coord.yaml")
        #expect(config.knownHosts == "/etc/coord/ssh/known_hosts")
        #expect(config.identityFile == "/keys/id")
        #expect(config.hosts[1].identityFile == "/etc/coord/k2")
        #expect(config.hostKeyPolicy == .acceptNew)
        #expect(config.hosts[1].transport == .exec && config.hosts[1].port == 2222)
    }

    @Test func dialerDefaults() throws {
        let config = try CoordConfig.parse(sample, path: "/etc/coord/coord.yaml")
        let dialer = AgentDialer(config: config)
        let endpoint = dialer.endpoint(for: config.hosts[0])
        #expect(endpoint.port == 22 && endpoint.user == "root" && endpoint.name == "h1")
        #expect(dialer.options(for: config.hosts[1]).identityFile == "/etc/coord/k2")
        #expect(dialer.options(for: config.hosts[0]).identityFile == "/keys/id")
    }

    @Test(arguments: [
        ("hosts: []", "knownHosts"),
        ("knownHosts: k\nhosts:\n  - {name: \"a;b\", address: x}", "a;b"),
        ("knownHosts: k\nhosts:\n  - {name: a, address: x}\n  - {name: a, address: y}", "twice"),
        ("knownHosts: k\nhosts:\n  - {name: a, address: x, port: 70000}", "70000"),
        ("knownHosts: k\nhostKeyPolicy: yolo\nhosts: []", "hostKeyPolicy"),
        ("knownHosts: k\nhosts:\n  - {name: a, address: x, agentSocket: rel.sock}", "rel.sock"),
    ])
    func badConfigsNameTheProblem(yaml: String, mentions: String) {
        do {
            _ = try CoordConfig.parse(yaml, path: "/c.yaml")
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect("\(error)".contains(mentions), "\(error)")
            #expect("\(error)".contains("/c.yaml"))
        }
    }

    @Test func locatorOrder() throws {
        var existing: Set<String> = ["/home/op/.config/coord/coord.yaml", "/etc/coord/coord.yaml", "/x.yaml"]
        func locator(_ explicit: String?, env: [String: String] = [:]) -> ConfigLocator {
            ConfigLocator(explicit: explicit, environment: env, home: "/home/op", exists: { existing.contains($0) })
        }
        #expect(try locator("/x.yaml").locate() == "/x.yaml")
        #expect(try locator(nil, env: ["COORD_CONFIG": "/x.yaml"]).locate() == "/x.yaml")
        #expect(try locator(nil).locate() == "/home/op/.config/coord/coord.yaml")
        existing.remove("/home/op/.config/coord/coord.yaml")
        #expect(try locator(nil).locate() == "/etc/coord/coord.yaml")
        existing.removeAll()
        #expect(throws: CoordError.self) { try locator(nil).locate() }
        #expect(throws: CoordError.self) { try locator("/missing.yaml").locate() }
    }
}
