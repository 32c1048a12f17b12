import Foundation
import Shared

/// Decides whether guests get KVM or TCG on this host.
///
/// `/dev/kvm` existing proves nothing: under nested `kvm_pvm` a firmware-only
/// guest runs but a Linux kernel hangs before its first line (LAB-FACTS.md).
/// So the probe boots a real kernel under KVM and waits for it to print
/// `Linux version` on the serial port; only then is KVM called usable.
struct AcceleratorProbe: Sendable {
    var qemuBinary: String
    var choice: AgentConfig.AcceleratorChoice
    var kvmDevice = "/dev/kvm"
    /// How long a kernel may take to print its first line under KVM. Under a
    /// working KVM it takes well under a second.
    var bootTimeout: Double = 15

    func run() async -> AcceleratorStatus {
        let devicePresent = FileManager.default.fileExists(atPath: kvmDevice)
        switch choice {
        case .tcg:
            return AcceleratorStatus(kind: .tcg, kvmDevicePresent: devicePresent, kvmBootsGuest: nil, detail: "tcg chosen in the agent's config")
        case .kvm:
            return AcceleratorStatus(kind: .kvm, kvmDevicePresent: devicePresent, kvmBootsGuest: nil, detail: "kvm chosen in the agent's config (not probed)")
        case .auto:
            break
        }
        guard devicePresent else {
            return AcceleratorStatus(kind: .tcg, kvmDevicePresent: false, kvmBootsGuest: false, detail: "no \(kvmDevice); using tcg")
        }
        guard let kernel = Self.probeKernel() else {
            return AcceleratorStatus(
                kind: .tcg, kvmDevicePresent: true, kvmBootsGuest: nil,
                detail: "\(kvmDevice) exists but no kernel in /boot to prove it boots a guest; using tcg")
        }
        let outcome = await bootKernel(kernel, accelerator: "kvm")
        switch outcome {
        case .booted(let seconds):
            return AcceleratorStatus(
                kind: .kvm, kvmDevicePresent: true, kvmBootsGuest: true,
                detail: String(format: "kvm booted %@ to its first line in %.1f s", kernel, seconds))
        case .silent:
            return AcceleratorStatus(
                kind: .tcg, kvmDevicePresent: true, kvmBootsGuest: false,
                detail: "kvm started but \(kernel) printed nothing in \(Int(bootTimeout)) s (nested KVM that cannot boot Linux?); using tcg")
        case .failed(let reason):
            return AcceleratorStatus(
                kind: .tcg, kvmDevicePresent: true, kvmBootsGuest: false,
                detail: "qemu could not start with kvm: \(reason); using tcg")
        }
    }

    enum BootOutcome: Equatable {
        case booted(seconds: Double)
        case silent
        case failed(String)
    }

    func bootKernel(_ kernel: String, accelerator: String) async -> BootOutcome {
        let started = ContinuousClock.now
        let marker = Array("Linux version".utf8)
        let output: ProcessRunner.Output
        do {
            output = try await ProcessRunner.run(
                qemuBinary,
                [
                    "-accel", accelerator, "-machine", "pc", "-m", "128", "-nodefaults", "-display", "none",
                    "-no-reboot", "-serial", "stdio", "-kernel", kernel,
                    "-append", "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1",
                ],
                timeout: bootTimeout, dieWithParent: true,
                stopWhen: { $0.firstRange(of: marker) != nil })
        } catch {
            return .failed("\(error)")
        }
        let seconds = Double((ContinuousClock.now - started).components.seconds)
        if output.stdout.firstRange(of: marker) != nil { return .booted(seconds: seconds) }
        if output.timedOut { return .silent }
        let reason = output.stderrText.split(separator: "\n").last.map(String.init) ?? "exit status \(output.status)"
        return .failed(reason)
    }

    /// The newest kernel image in /boot, the same one the host runs on.
    static func probeKernel(in directory: String = "/boot") -> String? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix("vmlinuz-") }.sorted().last.map { "\(directory)/\($0)" }
    }
}
