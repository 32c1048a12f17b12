/// Decides when pre-copy has stopped making progress: the data left to send
/// (sampled at each dirty-sync iteration) has not fallen below 90 % of its
/// earlier low for three iterations. Pure, so it is tested on made-up runs.
struct StallDetector: Sendable {
    private var lowPerIteration: [Int: UInt64] = [:]
    var window = 3
    var minimumIterations = 4

    mutating func observe(iteration: Int, remaining: UInt64) {
        lowPerIteration[iteration] = min(lowPerIteration[iteration] ?? .max, remaining)
    }

    var stalled: Bool {
        let iterations = lowPerIteration.keys.sorted()
        guard iterations.count >= minimumIterations + window - 1 else { return false }
        let recent = iterations.suffix(window)
        let earlier = iterations.dropLast(window)
        guard let earlierLow = earlier.compactMap({ lowPerIteration[$0] }).min(),
              let recentLow = recent.compactMap({ lowPerIteration[$0] }).min()
        else { return false }
        return Double(recentLow) >= 0.9 * Double(earlierLow)
    }
}
