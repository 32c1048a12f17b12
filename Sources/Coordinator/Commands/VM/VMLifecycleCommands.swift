import ArgumentParser
import Foundation
import Shared

/// Finds the VM's host and runs one agent call there.
private func onVMHost<T: Sendable>(
    _ global: GlobalOptions, _ name: String, timeout: Double = 120, _ body: (AgentClient) async throws -> T
) async throws -> T {
    let config = try global.loadConfig()
    let location = try await VMLocator.locate(name, config: config)
    return try await AgentDialer(config: config).with(location.host, body)
}

struct VMStartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start a stopped VM on the host that holds it.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: VMTarget
    @Flag(name: .long, help: "Print the VM as JSON.") var json = false

    func run() async throws {
        let info = try await onVMHost(global, target.name) { try await $0.call(AgentMethods.VMStart.self, VMRef(name: target.name), timeout: 120) }
        if json { try JSONOutput.print(info) } else { print("\(info.name) on \(info.host): \(info.state.rawValue)\(info.pid.map { ", QEMU pid \($0)" } ?? "")") }
    }
}

struct VMStopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Power a VM off: ACPI first, then forced after the timeout.",
        discussion: "The guest gets its power button; if it has not powered off after --timeout seconds, QEMU is told to quit (and killed if it will not). The output says which happened.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: VMTarget
    @Option(name: .long, help: "Seconds to wait for the guest to power off.") var timeout: Double = 30
    @Flag(name: .long, help: "Print the result as JSON.") var json = false

    func validate() throws {
        guard timeout >= 0 && timeout <= 3600 else { throw ValidationError("--timeout must be 0-3600 seconds") }
    }

    func run() async throws {
        let result = try await onVMHost(global, target.name) {
            try await $0.call(AgentMethods.VMStop.self, VMStopParams(name: target.name, timeoutSeconds: timeout), timeout: timeout + 60)
        }
        if json { try JSONOutput.print(result); return }
        switch result.how {
        case .poweredOff: print("\(target.name) powered off on \(result.vm.host)")
        case .forced: print("\(target.name) did not power off within \(Int(timeout)) s; QEMU was stopped by force on \(result.vm.host)")
        case .alreadyStopped: print("\(target.name) was not running on \(result.vm.host)")
        }
    }
}

struct VMKillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "End a VM's QEMU at once (SIGKILL): the guest gets no warning.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: VMTarget
    @Flag(name: .long, help: "Print the VM as JSON.") var json = false

    func run() async throws {
        let info = try await onVMHost(global, target.name) { try await $0.call(AgentMethods.VMKill.self, VMRef(name: target.name)) }
        if json { try JSONOutput.print(info) } else { print("\(info.name) killed on \(info.host)") }
    }
}

struct VMDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Forget a stopped VM and remove its state.",
        discussion: "Disk images Ferry created for the VM are removed too, unless --keep-disks; images that existed before are never touched. A running VM is refused: stop it first.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: VMTarget
    @Flag(name: .long, help: "Keep the disk images Ferry created.") var keepDisks = false
    @Flag(name: .long, help: "Print the result as JSON.") var json = false

    func run() async throws {
        let result = try await onVMHost(global, target.name) {
            try await $0.call(AgentMethods.VMDelete.self, VMDeleteParams(name: target.name, keepDisks: keepDisks))
        }
        if json { try JSONOutput.print(result); return }
        print("\(target.name) deleted")
        for disk in result.removedDisks { print("  removed \(disk)") }
        for disk in result.keptDisks { print("  kept    \(disk)") }
    }
}
