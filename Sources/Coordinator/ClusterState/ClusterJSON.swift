import Foundation

/// How cluster state is encoded in etcd values: JSON, dates as fractional
/// seconds since 1970 (ISO dates would drop the milliseconds).
enum ClusterJSON {
    static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(value)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ data: Data, what: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        do {
            return try decoder.decode(type, from: data)
        } catch {
            throw JournalError.unreadable("\(what): \(error)")
        }
    }
}
