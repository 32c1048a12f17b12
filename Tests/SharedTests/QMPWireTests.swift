import Foundation
import Testing
@testable import Shared

/// The wire format alone, on lines copied from QEMU 7.2's output.
@Suite struct QMPWireTests {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func classifiesLinesWithoutDecodingPayloads() throws {
        #expect(try QMPWire.kind(of: bytes(#"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}"#)) == .greeting)
        #expect(try QMPWire.kind(of: bytes(#"{"return": {}, "id": 4}"#)) == .reply(id: 4))
        #expect(try QMPWire.kind(of: bytes(#"{"error": {"class": "GenericError", "desc": "JSON parse error"}}"#)) == .reply(id: nil))
        #expect(try QMPWire.kind(of: bytes(#"{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "STOP"}"#)) == .event)
    }

    @Test func encodesCommandsWithKebabCaseArgumentsAndNoNils() throws {
        let parameters = QMP.MigrationParameters(downtimeLimit: 300, multifdChannels: 4)
        let line = try QMPWire.line("migrate-set-parameters", arguments: parameters, id: 9)
        let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(object?["execute"] as? String == "migrate-set-parameters")
        #expect(object?["id"] as? Int == 9)
        #expect(object?["arguments"] as? [String: Int] == ["downtime-limit": 300, "multifd-channels": 4])
        let bare = try JSONSerialization.jsonObject(with: Data(try QMPWire.line("stop", id: 1))) as? [String: Any]
        #expect(bare?["arguments"] == nil)
    }

    @Test func decodesTypedAndUnknownEvents() throws {
        let shutdown = try QMP.Event(line: bytes(#"{"timestamp": {"seconds": 1795317990, "microseconds": 535350}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}}"#))
        #expect(shutdown.kind == .shutdown(guest: false, reason: "host-qmp-quit"))
        #expect(abs(shutdown.timestamp.timeIntervalSince1970 - 1795317990.535350) < 0.000_01)

        let migration = try QMP.Event(line: bytes(#"{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "MIGRATION", "data": {"status": "pre-switchover"}}"#))
        #expect(migration.kind == .migration(status: .preSwitchover))
        let future = try QMP.Event(line: bytes(#"{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "MIGRATION", "data": {"status": "from-qemu-12"}}"#))
        #expect(future.kind == .migration(status: .unknown))

        let other = try QMP.Event(line: bytes(#"{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "BLOCK_JOB_READY", "data": {"device": "d0", "len": 5}}"#))
        #expect(other.name == "BLOCK_JOB_READY")
        #expect(other.kind == .other(name: "BLOCK_JOB_READY", data: .object(["device": .string("d0"), "len": .number(5)])))
    }

    @Test func decodesErrorReplies() throws {
        let reply = try JSONDecoder().decode(QMPWire.Reply<QMP.Empty>.self, from: Data(bytes(#"{"error": {"class": "CommandNotFound", "desc": "The command foo has not been found"}, "id": 2}"#)))
        #expect(reply.error?.errorClass == .commandNotFound)
        #expect(reply.result == nil)
    }
}
