import Foundation

/// An evacuation plan as `coord evacuate` prints it before it starts (and
/// all that `--dry-run` prints): each VM's target in start order with the
/// schedule's estimate, then every VM that fits nowhere with each host's reason.
enum EvacuationPlanText {
    static func render(_ plan: EvacuationPlan, host: String, parallel: Int) -> String {
        var lines: [String] = []
        let moving = plan.placements.count, stuck = plan.unplaced.count
        guard moving + stuck > 0 else { return "\(host) runs no VM: nothing to move." }
        var head = "Plan for \(host): \(moving) VM\(moving == 1 ? "" : "s") to move"
        if stuck > 0 { head += ", \(stuck) that cannot move" }
        if moving > 0 {
            head += String(format: "; estimated %.1f s at up to %d at a time (%@)", plan.schedule.makespanSeconds, parallel, plan.method)
        }
        lines.append(head + ".")
        if moving > 0 {
            var table = TextTable("ORDER", "VM", "TO", "MEMORY", "EST")
            for (index, slot) in plan.schedule.slots.enumerated() {
                table.add("\(index + 1)", slot.vm, slot.target, ByteFormat.string(slot.memoryBytes),
                          String(format: "%.1f s", slot.estimatedSeconds) + (slot.mayNotConverge ? " (may not converge)" : ""))
            }
            lines.append(table.render().split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        }
        if stuck > 0 {
            lines.append("Cannot move (they stay on \(host), running):")
            for unplaced in plan.unplaced {
                if let reason = unplaced.reason {
                    lines.append("  \(unplaced.vm): \(reason)")
                    continue
                }
                lines.append("  \(unplaced.vm): fits on no host:")
                for rejection in unplaced.rejections where rejection.reason != "being evacuated" {
                    lines.append("    \(rejection.host): \(rejection.reason)")
                }
                if unplaced.rejections.allSatisfy({ $0.reason == "being evacuated" }) { lines.append("    (no other host answered)") }
            }
        }
        return lines.joined(separator: "\n")
    }
}
