import Foundation
import Shared

extension MovesOutput {
    /// Every line has `type`; the other keys depend on it (docs/json.md).
    struct EventLine: Encodable {
        var type: String
        var vm: String?
        var host: String?
        var source: String?
        var target: String?
        var parallel: Int?
        var dryRun: Bool?
        var entered: Bool?
        var text: String?
        var mode: String?
        var reason: String?
        /// An `EvacuationPlan` or a `BalancePlan`.
        var plan: (any Encodable & Sendable)?
        var progress: MigrationProgress?
        var elapsedMs: Double?
        var result: MoveResult?
        /// An `EvacuationReport` or a `BalanceReport`.
        var report: (any Encodable & Sendable)?

        private enum Key: String, CodingKey {
            case type, vm, host, source, target, parallel, dryRun, entered, text, mode, reason, plan, progress, elapsedMs, result, report
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(type, forKey: .type)
            try c.encodeIfPresent(vm, forKey: .vm)
            try c.encodeIfPresent(host, forKey: .host)
            try c.encodeIfPresent(source, forKey: .source)
            try c.encodeIfPresent(target, forKey: .target)
            try c.encodeIfPresent(parallel, forKey: .parallel)
            try c.encodeIfPresent(dryRun, forKey: .dryRun)
            try c.encodeIfPresent(entered, forKey: .entered)
            try c.encodeIfPresent(text, forKey: .text)
            try c.encodeIfPresent(mode, forKey: .mode)
            try c.encodeIfPresent(reason, forKey: .reason)
            if let plan { try c.encode(plan, forKey: .plan) }
            try c.encodeIfPresent(progress, forKey: .progress)
            try c.encodeIfPresent(elapsedMs, forKey: .elapsedMs)
            try c.encodeIfPresent(result, forKey: .result)
            if let report { try c.encode(report, forKey: .report) }
        }
    }
}
