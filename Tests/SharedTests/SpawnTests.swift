import Foundation
import Shared
import Testing

/// A child gets its three standard descriptors and nothing else of ours:
/// the agent's QEMUs outlive it, and a socket they inherit stays open.
struct SpawnTests {
    @Test func aChildInheritsNoDescriptorBeyondTheStandardThree() throws {
        // A socket opened the way SwiftNIO opens them: without SOCK_CLOEXEC.
        let leaky = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(leaky > 2)
        defer { close(leaky) }
        #expect(fcntl(leaky, F_GETFD) & FD_CLOEXEC == 0)

        let pid = try Spawn.start(["/bin/sleep", "30"])
        defer {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        // The child has exec'd once its command line is sleep's.
        for _ in 0..<200 {
            let cmdline = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
            if cmdline.hasPrefix("/bin/sleep") { break }
            usleep(10_000)
        }
        usleep(200_000)  // sleep's own start-up (locale files) has come and gone
        let ours = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(leaky)")
        let held = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").compactMap(Int32.init).filter { $0 > 2 }
            .compactMap { fd in (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")).map { "\(fd) -> \($0)" } }
        #expect(held.isEmpty, "the child holds descriptors beyond 0-2 (ours: \(ours)): \(held)")
    }
}
