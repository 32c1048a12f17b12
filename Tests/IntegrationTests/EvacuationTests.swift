import Foundation
import Shared
import Testing

extension LabSuite {
    /// `coord evacuate`, `coord balance` and `coord serve` moving real guests
    /// between lab hosts, judged by the guests' own heartbeats.
    @Suite struct EvacuationTests {
        let lab = Lab.shared

        @Test func evacuateEmptiesTheHostAndEveryGuestLivesOn() async throws {
            try await lab.up()
            try await lab.noMaintenance()
            let guests = (0..<4).map { i in LabGuest.small("it-evac\(i + 1)", octet: 130 + i) }
            let before = try await lab.boot(guests, on: "h1")

            let out = try await lab.coord(["evacuate", "h1", "--json"], timeout: 900)
            let lines = try EvacuateLines.parse(out.stdoutText)
            #expect(out.status == 0, "\(out.stdoutText)\n\(out.stderrText)")
            let report = try #require(lines.report, "no report line:\n\(out.stdoutText)\n\(out.stderrText)")
            #expect(report.leftOnHost == [], "\(report)")
            #expect(lines.maintenanceEntered == true)
            #expect(Set(report.entries.map(\.vm)) == Set(guests.map(\.name)))
            var targets = Set<String>()
            for entry in report.entries {
                #expect(entry.outcome == "moved", "\(entry)")
                let target = try #require(entry.target)
                #expect(target == "h2" || target == "h3")
                targets.insert(target)
                // The guest's heartbeat went on: its last count before the
                // evacuation is passed on the target, with no step back, and
                // its longest gap was short.
                try await lab.expectRunsOnlyOn(entry.vm, target, beyond: before[entry.vm] ?? 0)
                let gap = entry.migration?.figures.downtimeMsGuest ?? -1
                #expect(gap >= 0 && gap < 5_000, "\(entry.vm): heartbeat gap \(gap) ms")
            }
            #expect(targets == ["h2", "h3"], "the plan should spread the VMs over both hosts")
            #expect(try await lab.vmsOn("h1").isEmpty)

            // h1 stays in maintenance: automatic placement avoids it.
            let maintenance = try await lab.coord(["maintenance", "list"])
            #expect(maintenance.stdoutText.contains("h1"), "\(maintenance.stdoutText)")
            var probe = LabGuest.small("it-evac-probe", octet: 135)
            probe.withNIC = false
            let created = try await lab.coord(["vm", "create", "-f", try probe.writeSpec(labDir: lab.labDir), "--no-start", "--json"])
            #expect(created.status == 0 && !created.stdoutText.contains("\"h1\""), "\(created.stdoutText)\(created.stderrText)")
            await lab.removeVM(probe.name)

            #expect(try await lab.coord(["maintenance", "exit", "h1"]).status == 0)
            for guest in guests { await lab.removeVM(guest.name) }
        }

        /// A VM with a CPU model only h1 and h2 run (h3 plays Opteron_G2),
        /// while h2 is in maintenance, fits nowhere: it is reported with
        /// every host's reason, keeps running on h1, and the exit status says
        /// the host is not empty. The other VM still moves.
        @Test func aVMThatFitsNowhereIsReportedAndKeepsRunning() async throws {
            try await lab.up()
            try await lab.noMaintenance()
            var stuck = LabGuest.small("it-stuck", octet: 136)
            stuck.cpuModel = "Westmere"
            let mover = LabGuest.small("it-mover", octet: 137)
            let before = try await lab.boot([stuck, mover], on: "h1")
            #expect(try await lab.coord(["maintenance", "enter", "h2", "--reason", "test"]).status == 0)

            let dry = try await lab.coord(["evacuate", "h1", "--dry-run"])
            #expect(dry.status == 1, "\(dry.stdoutText)\(dry.stderrText)")
            #expect(dry.stdoutText.contains("it-stuck: fits on no host:"), "\(dry.stdoutText)")
            #expect(try await lab.coord(["maintenance", "list"]).stdoutText.contains("h1") == false, "--dry-run must not enter maintenance")

            let out = try await lab.coord(["evacuate", "h1"], timeout: 900)
            let text = out.stdoutText
            #expect(out.status == 1, "\(text)\(out.stderrText)")
            #expect(text.contains("h2: in maintenance") && text.contains("h3: CPU model Westmere lacks"), "\(text)")
            #expect(text.contains("NOT MOVED (no host)") && text.contains("h1 still runs 1 VM: it-stuck."), "\(text)")
            try await lab.expectRunsOnlyOn(stuck.name, "h1", beyond: before[stuck.name] ?? 0)
            try await lab.expectRunsOnlyOn(mover.name, "h3", beyond: before[mover.name] ?? 0)
            #expect(try await lab.history(vm: stuck.name).isEmpty, "nothing was tried for the VM that fits nowhere")

            _ = try await lab.coord(["maintenance", "exit", "h1"])
            _ = try await lab.coord(["maintenance", "exit", "h2"])
            for guest in [stuck, mover] { await lab.removeVM(guest.name) }
        }

        /// h1 and h2 evacuated at the same time by two coords: every VM ends
        /// on h3, never on the other host being emptied.
        @Test func twoHostsEvacuatedAtOnceSendEverythingToTheThird() async throws {
            try await lab.up()
            try await lab.noMaintenance()
            let one = LabGuest.small("it-twin1", octet: 144), two = LabGuest.small("it-twin2", octet: 145)
            let before = try await lab.boot([one], on: "h1").merging(try await lab.boot([two], on: "h2")) { a, _ in a }

            let first = try BackgroundCoord.start(lab, ["evacuate", "h1", "--json"])
            let second = try BackgroundCoord.start(lab, ["evacuate", "h2", "--json"])
            let statuses = (try await first.wait(timeout: .seconds(600)), try await second.wait(timeout: .seconds(600)))
            #expect(statuses.0 == 0 && statuses.1 == 0, "\(first.text)\(first.errors)\n\(second.text)\(second.errors)")
            for coord in [first, second] {
                let report = try #require(try EvacuateLines.parse(coord.text).report, "\(coord.text)\(coord.errors)")
                #expect(report.entries.allSatisfy { $0.outcome == "moved" && $0.target == "h3" }, "\(report)")
            }
            for guest in [one, two] { try await lab.expectRunsOnlyOn(guest.name, "h3", beyond: before[guest.name] ?? 0) }

            _ = try await lab.coord(["maintenance", "exit", "h1"])
            _ = try await lab.coord(["maintenance", "exit", "h2"])
            for guest in [one, two] { await lab.removeVM(guest.name) }
        }

        @Test func balanceMovesVMsOffALoadedHostAndNotAgainWithinTheCoolDown() async throws {
            try await lab.up()
            try await lab.noMaintenance()
            let guests = (0..<3).map { i in LabGuest.small("it-bal\(i + 1)", octet: 138 + i) }
            let before = try await lab.boot(guests, on: "h1")

            let dry = try await lab.coord(["balance", "--dry-run", "--json"])
            #expect(dry.status == 0, "\(dry.stderrText)")
            let planned = try BalanceLines.parse(dry.stdoutText).plan
            #expect(!planned.moves.isEmpty && planned.moves.allSatisfy { $0.source == "h1" }, "\(dry.stdoutText)")
            #expect(planned.scoreAfter < planned.scoreBefore)

            let out = try await lab.coord(["balance", "--json"], timeout: 900)
            #expect(out.status == 0, "\(out.stdoutText)\(out.stderrText)")
            let report = try #require(try BalanceLines.parse(out.stdoutText).report, "\(out.stdoutText)")
            #expect(!report.moves.isEmpty && report.moves.allSatisfy { $0.outcome == "moved" && $0.source == "h1" }, "\(report)")
            for move in report.moves {
                try await lab.expectRunsOnlyOn(move.vm, try #require(move.target), beyond: before[move.vm] ?? 0)
            }
            let onH1 = try await guests.asyncFilter { try await lab.hostsListing($0.name) == ["h1"] }
            #expect(onH1.count == guests.count - report.moves.count)
            #expect((report.scoreAfter ?? 1) < planned.scoreBefore, "\(report)")

            // The VMs just moved are left alone for the cool-down: no ping-pong.
            let again = try await lab.coord(["balance", "--dry-run"])
            #expect(again.stdoutText.contains("left alone (cool-down)"), "\(again.stdoutText)")
            let movedAgain = try BalanceLines.parse(try await lab.coord(["balance", "--dry-run", "--json"]).stdoutText).plan.moves
            #expect(movedAgain.allSatisfy { move in !report.moves.contains { $0.vm == move.vm } }, "\(movedAgain)")
            for guest in guests { await lab.removeVM(guest.name) }
        }

        /// coord serve balances a loaded host on its own, exports metrics over
        /// HTTP, and on SIGTERM in the middle of a migration finishes or
        /// rolls it back, then exits 0.
        @Test func serveBalancesExportsMetricsAndStopsCleanlyOnSIGTERM() async throws {
            try await lab.up()
            try await lab.noMaintenance()
            let guests = (0..<3).map { i in LabGuest.small("it-serve\(i + 1)", octet: 141 + i) }
            let before = try await lab.boot(guests, on: "h1")

            let serve = try BackgroundCoord.start(lab, [
                "serve", "--metrics-address", "127.0.0.1:0", "--refresh-every", "1s", "--balance-every", "2s",
                "--threshold", "0.02", "--stop-grace", "1s",
            ])
            var stopped = false
            defer { if !stopped { kill(serve.pid, SIGKILL) } }
            let port = try await serve.waitFor(#/metrics on http://127\.0\.0\.1:(\d+)/metrics/#, timeout: .seconds(60)).1
            let url = "http://127.0.0.1:\(port)/metrics"

            // Hosts and VMs as the first survey saw them.
            var metrics = try await lab.scrape(url)
            for _ in 0..<30 where metrics["ferry_vms"] ?? 0 < 3 {
                try await Task.sleep(for: .seconds(1))
                metrics = try await lab.scrape(url)
            }
            #expect(metrics["ferry_hosts_up"] == 3 && metrics["ferry_hosts_down"] == 0, "\(metrics)")
            #expect(metrics["ferry_vms"] ?? 0 >= 3 && metrics["ferry_host_vms{host=\"h1\"}"] ?? 0 >= 3, "\(metrics)")
            #expect(metrics["ferry_cluster_score"] ?? 0 > 0.02, "\(metrics)")

            // The first move ends; the metrics count it and its downtime.
            _ = try await serve.waitFor(#/it-serve\d: moved/#, timeout: .seconds(300))
            try await Task.sleep(for: .seconds(2))
            metrics = try await lab.scrape(url)
            #expect(metrics["ferry_migrations_total{result=\"succeeded\"}"] ?? 0 >= 1, "\(metrics)")
            #expect(metrics["ferry_migration_downtime_seconds_count"] ?? 0 >= 1, "\(metrics)")
            #expect(metrics["ferry_balance_rounds_total"] ?? 0 >= 1, "\(metrics)")

            // SIGTERM while the second move runs (or right after it, if it was quick).
            _ = try? await serve.waitFor(#/migrating it-serve\d h1 -> h\d(?s:.*)migrating it-serve\d h1 -> h\d/#, timeout: .seconds(60))
            kill(serve.pid, SIGTERM)
            let status = try await serve.wait(timeout: .seconds(120))
            stopped = true
            print("coord serve log:\n\(serve.errors)")
            #expect(status == 0, "\(serve.errors)")
            #expect(serve.errors.contains("shutting down") && serve.errors.contains("stopped"), "\(serve.errors)")

            // Nothing half done: every migration finished, every guest on one host.
            for guest in guests {
                let history = try await lab.history(vm: guest.name)
                #expect(history.allSatisfy { $0.outcome != nil }, "\(guest.name): \(history)")
                let hosts = try await lab.hostsListing(guest.name)
                #expect(hosts.count == 1, "\(guest.name) on \(hosts)")
                if let host = hosts.first { try await lab.expectRunsOnlyOn(guest.name, host, beyond: before[guest.name] ?? 0) }
            }
            for guest in guests { await lab.removeVM(guest.name) }
        }
    }
}

extension LabGuest {
    /// A lab guest without a disk (none of these tests needs one).
    static func small(_ name: String, octet: Int) -> LabGuest {
        var guest = LabGuest(name: name, octet: octet)
        guest.withDisk = false
        return guest
    }
}

extension Lab {
    /// Creates the guests on `host` one after another (booting them all at
    /// once on 2 shared cores only makes each slower) and waits for each
    /// heartbeat; returns each guest's last heartbeat.
    nonisolated func boot(_ guests: [LabGuest], on host: String) async throws -> [String: UInt64] {
        var beats: [String: UInt64] = [:]
        for guest in guests {
            await removeVM(guest.name)
            let create = try await coord(["vm", "create", "-f", try guest.writeSpec(labDir: labDir), "--host", host])
            try #require(create.status == 0, "create \(guest.name) failed: \(create.stderrText)")
        }
        for guest in guests {
            beats[guest.name] = try await waitForHeartbeat(guest.name, timeout: .seconds(180)).guest.lastHeartbeat ?? 0
        }
        return beats
    }

    /// The VMs `coord vms` lists on `host`.
    nonisolated func vmsOn(_ host: String) async throws -> [String] {
        struct Output: Decodable { struct Row: Decodable { var name: String; var host: String }; var vms: [Row] }
        let out = try await coord(["vms", "--json"])
        return try AgentProtocol.decoder().decode(Output.self, from: Data(out.stdout)).vms.filter { $0.host == host }.map(\.name)
    }

    /// Takes every host out of maintenance (an earlier test may have failed midway).
    nonisolated func noMaintenance() async throws {
        for host in hostNames { _ = try await coord(["maintenance", "exit", host]) }
    }

    /// The samples of a Prometheus endpoint, by name and labels as written.
    nonisolated func scrape(_ url: String) async throws -> [String: Double] {
        let out = try await run("/usr/bin/curl", ["-sS", "--max-time", "10", url], timeout: 30)
        guard out.status == 0 else { throw LabFailure("curl \(url) failed: \(out.stderrText)") }
        var samples: [String: Double] = [:]
        for line in out.stdoutText.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }
}

extension BackgroundCoord {
    /// Waits until its standard error matches; the match.
    func waitFor<Output>(_ regex: Regex<Output>, timeout: Duration) async throws -> Output {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let match = errors.firstMatch(of: regex) { return match.output }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { throw LabFailure("coord exited early:\n\(errors)") }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw LabFailure("coord did not log \(regex) within \(timeout):\n\(errors)")
    }
}

extension Sequence {
    func asyncFilter(_ keep: (Element) async throws -> Bool) async rethrows -> [Element] {
        var kept: [Element] = []
        for element in self where try await keep(element) { kept.append(element) }
        return kept
    }
}

/// The lines of `coord evacuate --json` the tests read.
struct EvacuateLines {
    struct Figures: Decodable { var downtimeMsGuest: Double? }
    struct Migration: Decodable { var figures: Figures }
    struct Entry: Decodable {
        var vm: String
        var source: String
        var target: String?
        var outcome: String
        var reason: String?
        var migration: Migration?
    }
    struct Report: Decodable {
        var host: String
        var entries: [Entry]
        var leftOnHost: [String]?
        var wallSeconds: Double
    }

    var maintenanceEntered: Bool?
    var report: Report?

    static func parse(_ text: String) throws -> EvacuateLines {
        var lines = EvacuateLines()
        for line in text.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            switch object["type"] as? String {
            case "maintenance": lines.maintenanceEntered = object["entered"] as? Bool
            case "report":
                struct Line: Decodable { var report: Report }
                lines.report = try AgentProtocol.decoder().decode(Line.self, from: Data(line.utf8)).report
            default: break
            }
        }
        return lines
    }
}

/// The lines of `coord balance --json` the tests read.
struct BalanceLines {
    struct Move: Decodable { var vm: String; var source: String; var target: String }
    struct Plan: Decodable { var scoreBefore: Double; var scoreAfter: Double; var moves: [Move] }
    struct Result: Decodable { var vm: String; var source: String; var target: String?; var outcome: String }
    struct Report: Decodable { var moves: [Result]; var scoreAfter: Double? }

    var plan: Plan
    var report: Report?

    static func parse(_ text: String) throws -> BalanceLines {
        var plan: Plan?
        var report: Report?
        for line in text.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            if object["type"] as? String == "plan" {
                struct Line: Decodable { var plan: Plan }
                plan = try AgentProtocol.decoder().decode(Line.self, from: Data(line.utf8)).plan
            }
            if object["type"] as? String == "report" {
                struct Line: Decodable { var report: Report }
                report = try AgentProtocol.decoder().decode(Line.self, from: Data(line.utf8)).report
            }
        }
        guard let plan else { throw LabFailure("no plan line in coord balance output:\n\(text)") }
        return BalanceLines(plan: plan, report: report)
    }
}
