import ArgumentParser
import Foundation
import Shared

struct RPCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpc",
        abstract: "Bridge standard input and output to the agent's socket.",
        discussion: """
            For hosts whose sshd forbids stream forwarding: the coordinator runs \
            `ferry-agent rpc --stdio` over an SSH exec channel and speaks the agent \
            protocol through it. Ends when either side closes.
            """
    )

    @Flag(name: .long, help: "Use standard input and output (the only mode).")
    var stdio = false

    @Option(name: .long, help: ArgumentHelp("Config file, for its socket path.", valueName: "path"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("The agent's socket.", valueName: "path"))
    var socket: String?

    func validate() throws {
        guard stdio else { throw ValidationError("give --stdio: it is the only way rpc talks") }
    }

    func run() throws {
        let path = try socket ?? AgentConfig.load(path: config).socket
        let fd: Int32
        do {
            fd = try UnixSocket.connect(path)
        } catch {
            throw ValidationError("\(error) (is ferry-agent serve running?)")
        }
        FileDescriptorBridge.pump(from: STDIN_FILENO, to: fd, andBack: STDOUT_FILENO)
    }
}
