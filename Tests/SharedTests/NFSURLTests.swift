import Testing
@testable import Shared

@Suite struct NFSURLTests {
    @Test func splitsServerExportAndPath() throws {
        let url = try NFSURL(parsing: "nfs://198.51.100.2/ferry/vms/disk.qcow2")
        #expect(url.server == "198.51.100.2" && url.export == "/ferry" && url.path == "/vms/disk.qcow2")
        #expect(url.nfsPort == nil && url.mountPort == nil && url.version == nil)
        #expect(url.description == "nfs://198.51.100.2/ferry/vms/disk.qcow2")
    }

    @Test func exportOnlyAndTrailingSlash() throws {
        let url = try NFSURL(parsing: "nfs://storage.example/ferry/")
        #expect(url.export == "/ferry" && url.path == "/")
        #expect(url.exportURL == "nfs://storage.example/ferry")
    }

    @Test func portsVersionAndIPv6() throws {
        let url = try NFSURL(parsing: "nfs://127.0.0.1:2050/ferry/x?mountport=2051&version=4")
        #expect(url.nfsPort == 2050 && url.mountPort == 2051 && url.version == 4)
        #expect(url.description == "nfs://127.0.0.1/ferry/x?nfsport=2050&mountport=2051&version=4")
        let v6 = try NFSURL(parsing: "nfs://[::1]:2049/ferry")
        #expect(v6.server == "::1" && v6.nfsPort == 2049 && v6.exportURL == "nfs://[::1]/ferry?nfsport=2049")
    }

    @Test func exportSplits() throws {
        let whole = try NFSURL(parsing: "nfs://s/a/b/c", export: .wholePath)
        #expect(whole.export == "/a/b/c" && whole.path == "/")
        let prefixed = try NFSURL(parsing: "nfs://s/a/b/c/d.img", export: .prefix("/a/b"))
        #expect(prefixed.export == "/a/b" && prefixed.path == "/c/d.img")
        #expect(whole.appending("x").path == "/x" && prefixed.appending("e").path == "/c/d.img/e")
    }

    @Test(arguments: [
        ("http://s/ferry", "scheme"),
        ("nfs://", "no server"),
        ("nfs:///ferry", "no server"),
        ("nfs://s", "no export"),
        ("nfs://s/", "no export"),
        ("nfs://s:0/ferry", "port '0'"),
        ("nfs://s:65536/ferry", "port '65536'"),
        ("nfs://s:abc/ferry", "port 'abc'"),
        ("nfs://[::1/ferry", "unclosed"),
        ("nfs://user@s/ferry", "user names"),
        ("nfs://s/ferry//disk", "'//'"),
        ("nfs://s/ferry/../etc", "'..'"),
        ("nfs://s/ferry dir", "whitespace"),
        ("nfs://s/ferry?version=5", "version must be 3 or 4"),
        ("nfs://s/ferry?uid=0", "unsupported option 'uid'"),
        ("nfs://s/ferry?nfsport", "has no value"),
        ("nfs://s$/ferry", "characters a host name cannot have"),
    ])
    func malformedURLsSayWhy(text: String, reason: String) {
        do {
            let url = try NFSURL(parsing: text)
            Issue.record("parsed '\(text)' as \(url)")
        } catch let error as NFSURLError {
            #expect(error.url == text)
            #expect(error.description.contains(reason), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func prefixMustMatch() {
        #expect(throws: NFSURLError.self) { try NFSURL(parsing: "nfs://s/other/x", export: .prefix("/ferry")) }
    }
}
