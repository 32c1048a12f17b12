import Foundation
import Shared
import Synchronization

/// Shows an evacuation or a balancing round as it runs. On a terminal: a block of lines, one per
/// VM and one overall, rewritten in place. Otherwise (a log, a pipe): a line
/// when a migration starts or ends, each VM's phases, and every 5 s the
/// running VMs and the overall line. With --json: one JSON object per line
/// (docs/json.md), progress at most once a second per VM.
final class MovesOutput: Sendable {
    let json: Bool
    private let isTerminal: Bool
    private let state: Mutex<State>

    private struct State: Sendable {
        var progress: MovesProgress?
        /// Lines of the block drawn last on the terminal.
        var drawn = 0
        var lastDraw: ContinuousClock.Instant?
        var lastPeriodic: ContinuousClock.Instant?
        var lastJSONProgress: [String: ContinuousClock.Instant] = [:]
    }

    /// Where finished lines go: standard output, or (for a coordinator
    /// cluster's leader) the queued operation's log in etcd.
    private let sink: @Sendable (String) -> Void

    init(json: Bool, isTerminal: Bool = isatty(STDOUT_FILENO) == 1, sink: (@Sendable (String) -> Void)? = nil) {
        self.json = json
        self.isTerminal = isTerminal && !json && sink == nil
        self.sink = sink ?? { line in
            print(line)
            fflush(nil)
        }
        state = Mutex(State())
    }

    func maintenance(host: String, entered: Bool, reason: String?) {
        if json {
            emit(EventLine(type: "maintenance", host: host, entered: entered, reason: reason))
        } else {
            say(entered ? "\(host) is now in maintenance: nothing new is placed on it." : "\(host) was already in maintenance.")
        }
    }

    func plan(_ plan: EvacuationPlan, host: String, parallel: Int, dryRun: Bool) {
        if json {
            emit(EventLine(type: "plan", host: host, parallel: parallel, dryRun: dryRun, plan: plan))
        } else {
            say(EvacuationPlanText.render(plan, host: host, parallel: parallel))
        }
    }

    func plan(_ plan: BalancePlan, text: String, dryRun: Bool) {
        if json {
            emit(EventLine(type: "plan", dryRun: dryRun, plan: plan))
        } else {
            say(text)
        }
    }

    func begin(title: String, jobs: [MigrationQueue.Job]) {
        let now = ContinuousClock.now
        state.withLock { $0.progress = MovesProgress(title: title, jobs: jobs, began: now) }
    }

    func show(_ event: MoveEvent) {
        let now = ContinuousClock.now
        let progress = state.withLock { s -> MovesProgress? in
            s.progress?.apply(event, at: now)
            return s.progress
        }
        guard let progress else { return }
        if json { return showJSON(event, now: now) }
        if isTerminal {
            let urgent: Bool
            switch event {
            case .started, .finished: urgent = true
            case .migration(let vm, .note(let text)): urgent = true; above("\(vm): note: \(text)")
            case .migration: urgent = false
            }
            redraw(progress, now: now, force: urgent)
            return
        }
        switch event {
        case .started(let job): say("\(job.vm): migrating to \(job.target)")
        case .finished(let entry):
            if let row = progress.rows.first(where: { $0.vm == entry.vm }) {
                say(progress.line(row, width: 0, now: now).trimmingCharacters(in: .whitespaces))
            }
        case .migration(let vm, .phase(let text)): say("\(vm): \(text)")
        case .migration(let vm, .note(let text)): say("\(vm): note: \(text)")
        case .migration(let vm, .plan(let plan)): say("\(vm): plan: \(plan.kind.rawValue): \(plan.reason)")
        case .migration(_, .progress): break
        }
        let due = state.withLock { s -> Bool in
            guard s.lastPeriodic.map({ now - $0 >= .seconds(5) }) ?? true else { return false }
            s.lastPeriodic = now
            return true
        }
        if due, progress.running > 0 {
            let width = progress.rows.map(\.vm.count).max() ?? 0
            for row in progress.rows where row.started != nil && row.entry == nil { say(progress.line(row, width: width, now: now)) }
            say(progress.overall(now: now))
        }
    }

    /// Leaves the progress block as it stands, then prints the report.
    func finish(_ report: any Encodable & Sendable, text: String) {
        if json {
            emit(EventLine(type: "report", report: report))
            return
        }
        if isTerminal, let progress = state.withLock({ $0.progress }) { redraw(progress, now: .now, force: true) }
        state.withLock { $0.drawn = 0 }
        say("")
        say(text)
    }

    /// A line for a person (on its own above the progress block on a terminal).
    func say(_ text: String) {
        guard !json else { return }
        if isTerminal && state.withLock({ $0.drawn }) > 0 { above(text); return }
        sink(text)
    }

    // MARK: Terminal

    private func redraw(_ progress: MovesProgress, now: ContinuousClock.Instant, force: Bool) {
        let lines = progress.lines(now: now)
        let previous = state.withLock { s -> Int? in
            if !force, let last = s.lastDraw, now - last < .milliseconds(200) { return nil }
            s.lastDraw = now
            defer { s.drawn = lines.count }
            return s.drawn
        }
        guard let previous else { return }
        var text = previous > 0 ? "\u{1B}[\(previous)A" : ""
        // A line wider than the terminal would wrap, and the block would no
        // longer be `lines.count` rows high for the next rewrite.
        let width = Self.terminalColumns()
        for line in lines { text += "\r\u{1B}[2K" + (line.count < width ? line : String(line.prefix(max(width - 2, 1))) + "…") + "\n" }
        print(text, terminator: "")
        fflush(nil)
    }

    static func terminalColumns() -> Int {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// Prints `text` where the block was and draws the block again below it.
    private func above(_ text: String) {
        let (drawn, progress) = state.withLock { s in (s.drawn, s.progress) }
        print((drawn > 0 ? "\u{1B}[\(drawn)A\r\u{1B}[J" : "") + text)
        state.withLock { $0.drawn = 0 }
        if let progress { redraw(progress, now: .now, force: true) }
    }

    // MARK: JSON

    private func showJSON(_ event: MoveEvent, now: ContinuousClock.Instant) {
        switch event {
        case .started(let job):
            emit(EventLine(type: "start", vm: job.vm, source: job.source, target: job.target))
        case .finished(let entry):
            emit(EventLine(type: "result", vm: entry.vm, result: entry))
        case .migration(let vm, .phase(let text)):
            emit(EventLine(type: "phase", vm: vm, text: text))
        case .migration(let vm, .note(let text)):
            emit(EventLine(type: "note", vm: vm, text: text))
        case .migration(let vm, .plan(let plan)):
            emit(EventLine(type: "migrationPlan", vm: vm, mode: plan.kind.rawValue, reason: plan.reason))
        case .migration(let vm, .progress(let progress, let elapsed)):
            let due = state.withLock { s -> Bool in
                guard s.lastJSONProgress[vm].map({ now - $0 >= .seconds(1) }) ?? true else { return false }
                s.lastJSONProgress[vm] = now
                return true
            }
            if due { emit(EventLine(type: "progress", vm: vm, progress: progress, elapsedMs: elapsed.milliseconds)) }
        }
    }

    private func emit(_ line: EventLine) {
        guard let data = try? AgentProtocol.encoder().encode(line) else { return }
        sink(String(decoding: data, as: UTF8.self))
    }
}
