import Foundation
import Shared

/// One `coord migrate`, as asked.
struct MigrationRequest: Sendable {
    var vm: String
    var target: String
    var mode: MigrationMode = .auto
    var maxDowntimeMs = 300
    var bandwidthMiBps: Double?
    var allowKnownBugs = false
    var verifyTimeout: Duration = .seconds(30)
}

/// What the executor tells its caller while it works.
enum MigrationEvent: Sendable {
    case phase(String)
    case plan(MigrationPlan)
    case progress(MigrationProgress, elapsed: Duration)
    case note(String)
}

/// How one migration ended.
struct MigrationReport: Codable, Sendable {
    var id: String
    var vm: String
    var source: String
    var target: String
    var mode: String
    var reason: String
    var outcome: MigrationOutcome
    var error: String?
    var verification: String?
    var figures: MigrationFigures
    /// Where the VM runs now.
    var runsOn: String?
}

/// Errors that end a migration, each saying what state it left.
enum MigrationError: Error, CustomStringConvertible {
    case refused(String)
    case failed(String)

    var description: String {
        switch self {
        case .refused(let reason): "refused: \(reason)"
        case .failed(let reason): reason
        }
    }
}
