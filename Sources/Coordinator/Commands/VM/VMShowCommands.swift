import ArgumentParser
import Foundation
import Shared

struct VMShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a VM: where it runs, its spec, QEMU's state and what its guest last reported.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: VMTarget
    @Flag(name: .long, help: "Print the details as JSON.") var json = false

    func run() async throws {
        let config = try global.loadConfig()
        let location = try await VMLocator.locate(target.name, config: config)
        let details = try await AgentDialer(config: config).with(location.host) {
            try await $0.call(AgentMethods.VMShow.self, VMRef(name: target.name))
        }
        if json { try JSONOutput.print(details); return }
        let info = details.info, spec = details.spec, guest = details.guest
        print("""
            \(info.name) on \(info.host): \(info.state.rawValue)\(details.qemuStatus.map { " (QEMU: \($0))" } ?? "")\(info.pid.map { ", pid \($0)" } ?? "")
              vCPUs \(spec.vcpus), memory \(spec.memory), CPU \(spec.cpuModel), machine \(spec.machineType)
              disks  \(spec.disks.isEmpty ? "none" : spec.disks.map { "\($0.location) (\($0.format))" }.joined(separator: ", "))
              NICs   \(spec.nics.isEmpty ? "none" : spec.nics.map { "\($0.mac) on \($0.bridge)" }.joined(separator: ", "))
              guest  \(guest.ready ? "ready" : "not ready"), heartbeat \(guest.lastHeartbeat.map { "#\($0)" } ?? "none"), memory check \(guest.memcheckOK.map { $0 ? "ok" : "FAILED" } ?? "-"), \(guest.intact ? "intact" : "DAMAGED (\(guest.corruptLines) corrupt, \(guest.diskGaps) disk gaps, \(guest.sequenceRegressions) heartbeat regressions)")
              console \(details.consolePath)
            """)
    }
}

struct VMConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Print the end of a VM's serial console log.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: VMTarget
    @Option(name: .long, help: "How many bytes from the end.") var bytes: Int = 8192

    func validate() throws {
        guard (1...(4 << 20)).contains(bytes) else { throw ValidationError("--bytes must be 1-4194304") }
    }

    func run() async throws {
        let config = try global.loadConfig()
        let location = try await VMLocator.locate(target.name, config: config)
        let chunk = try await AgentDialer(config: config).with(location.host) {
            try await $0.call(AgentMethods.VMConsole.self, VMConsoleParams(name: target.name, offset: -Int64(bytes), maxBytes: bytes))
        }
        print(chunk.text, terminator: "")
    }
}

struct VMsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vms",
        abstract: "List every VM on every host.",
        discussion: "Hosts that cannot be reached are named after the table; their VMs cannot be listed. The exit status is 0 when the list could be made.")

    @OptionGroup var global: GlobalOptions
    @Flag(name: .long, help: "Print JSON (an object with \"vms\" and \"unreachableHosts\").") var json = false

    struct Output: Codable {
        struct Row: Codable {
            var name: String
            var host: String
            var state: String
            var vcpus: Int
            var memoryBytes: UInt64
            var pid: Int32?
        }

        var vms: [Row]
        var unreachableHosts: [HostReport]
    }

    func run() async throws {
        let config = try global.loadConfig()
        let reports = await ClusterSurvey(config: config).survey()
        let rows = reports.flatMap { report in
            (report.inventory?.vms ?? []).map {
                Output.Row(name: $0.name, host: report.name, state: $0.state, vcpus: $0.vcpus, memoryBytes: $0.memoryBytes, pid: $0.pid)
            }
        }.sorted { ($0.name, $0.host) < ($1.name, $1.host) }
        let down = reports.filter { $0.state == .down }
        if json { try JSONOutput.print(Output(vms: rows, unreachableHosts: down)); return }
        var table = TextTable("VM", "HOST", "STATE", "VCPUS", "MEMORY", "PID")
        for row in rows {
            table.add(row.name, row.host, row.state, "\(row.vcpus)", ByteFormat.string(row.memoryBytes), row.pid.map(String.init) ?? "-")
        }
        print(table.render())
        for report in down { print("\(report.name): down, its VMs are not listed: \(report.reason ?? "no answer")") }
    }
}
