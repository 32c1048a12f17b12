import Foundation

extension QMP {
    /// An asynchronous QMP event, with QEMU's own timestamp.
    public struct Event: Sendable, Equatable {
        public var timestamp: Date
        public var kind: Kind

        public enum Kind: Sendable, Equatable {
            /// The guest's CPUs stopped (`stop`, migration switchover, error…).
            case stop
            case resume
            /// The guest or QEMU shut down. `guest` is true when the guest asked;
            /// `reason` is QEMU's ShutdownCause, e.g. `guest-shutdown`, `host-qmp-quit`.
            case shutdown(guest: Bool, reason: String)
            /// Needs the `events` migration capability.
            case migration(status: MigrationStatus)
            /// A new dirty-memory pass began (pre-copy iteration count).
            case migrationPass(pass: Int)
            /// Any event Ferry has no type for, passed through untouched.
            case other(name: String, data: QMPValue?)
        }

        public var name: String {
            switch kind {
            case .stop: "STOP"
            case .resume: "RESUME"
            case .shutdown: "SHUTDOWN"
            case .migration: "MIGRATION"
            case .migrationPass: "MIGRATION_PASS"
            case .other(let name, _): name
            }
        }

        public init(timestamp: Date, kind: Kind) {
            self.timestamp = timestamp
            self.kind = kind
        }

        /// Decodes one event line.
        init(line: [UInt8]) throws {
            let decoder = JSONDecoder()
            let data = Data(line)
            let header = try decoder.decode(Line<QMPValue>.self, from: data)
            timestamp = header.timestamp.date
            switch header.event {
            case "STOP":
                kind = .stop
            case "RESUME":
                kind = .resume
            case "SHUTDOWN":
                let body = try decoder.decode(Line<ShutdownData>.self, from: data).required()
                kind = .shutdown(guest: body.guest, reason: body.reason)
            case "MIGRATION":
                kind = .migration(status: try decoder.decode(Line<MigrationData>.self, from: data).required().status)
            case "MIGRATION_PASS":
                kind = .migrationPass(pass: try decoder.decode(Line<MigrationPassData>.self, from: data).required().pass)
            default:
                kind = .other(name: header.event, data: header.data)
            }
        }

        private struct Line<Payload: Decodable>: Decodable {
            var event: String
            var data: Payload?
            var timestamp: Timestamp

            func required() throws -> Payload {
                guard let data else {
                    throw DecodingError.valueNotFound(Payload.self, .init(codingPath: [], debugDescription: "\(event) without data"))
                }
                return data
            }
        }

        private struct Timestamp: Decodable {
            var seconds: Int64
            var microseconds: Int64
            var date: Date { Date(timeIntervalSince1970: Double(seconds) + Double(microseconds) / 1_000_000) }
        }

        private struct ShutdownData: Decodable {
            var guest: Bool
            var reason: String
        }

        private struct MigrationData: Decodable {
            var status: MigrationStatus
        }

        private struct MigrationPassData: Decodable {
            var pass: Int
        }
    }
}

