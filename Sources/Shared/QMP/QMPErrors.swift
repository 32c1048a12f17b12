extension QMP {
    /// QEMU refused a command: `{"error": {"class": …, "desc": …}}`.
    public struct CommandError: Error, CustomStringConvertible, Sendable, Equatable {
        /// The QMP command that failed, e.g. `migrate`.
        public var command: String
        public var errorClass: ErrorClass
        /// QEMU's human-readable explanation.
        public var message: String

        public init(command: String, errorClass: ErrorClass, message: String) {
            self.command = command
            self.errorClass = errorClass
            self.message = message
        }

        public var description: String { "QMP \(command) failed (\(errorClass.rawValue)): \(message)" }
    }

    /// QMP's error classes (qapi/error.json). Open-ended: QEMU may add more.
    public struct ErrorClass: RawRepresentable, Hashable, Sendable, Codable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        public static let genericError = ErrorClass(rawValue: "GenericError")
        public static let commandNotFound = ErrorClass(rawValue: "CommandNotFound")
        public static let deviceNotActive = ErrorClass(rawValue: "DeviceNotActive")
        public static let deviceNotFound = ErrorClass(rawValue: "DeviceNotFound")
        public static let kvmMissingCap = ErrorClass(rawValue: "KVMMissingCap")
    }

    /// Everything that goes wrong around a command rather than inside QEMU.
    public enum ClientError: Error, CustomStringConvertible, Sendable {
        /// No QMP greeting within the connect timeout (socket missing, QEMU
        /// not listening yet, or another client holds QEMU's only QMP slot).
        case connectTimedOut(path: String, seconds: Double, lastError: String)
        case badGreeting(String)
        /// The socket closed (QEMU exited or was killed) before the reply came.
        case connectionClosed(command: String?, reason: String)
        case commandTimedOut(command: String, seconds: Double)
        case malformedReply(command: String, detail: String)
        /// A migration reached `failed` or `cancelled` while we waited for another status.
        case migrationFailed(status: MigrationStatus, detail: String?)
        case waitTimedOut(what: String, seconds: Double, last: String)

        public var description: String {
            switch self {
            case .connectTimedOut(let path, let seconds, let lastError):
                "no QMP greeting from \(path) within \(seconds) s (\(lastError))"
            case .badGreeting(let detail):
                "QEMU sent an unreadable QMP greeting: \(detail)"
            case .connectionClosed(let command, let reason):
                if let command { "QMP connection closed during \(command): \(reason)" } else { "QMP connection closed: \(reason)" }
            case .commandTimedOut(let command, let seconds):
                "QEMU did not answer \(command) within \(seconds) s"
            case .malformedReply(let command, let detail):
                "unreadable QMP reply to \(command): \(detail)"
            case .migrationFailed(let status, let detail):
                "migration ended \(status.rawValue)" + (detail.map { ": \($0)" } ?? "")
            case .waitTimedOut(let what, let seconds, let last):
                "\(what) not reached within \(seconds) s (last seen: \(last))"
            }
        }
    }
}
