import Foundation
import Model

extension Packed {
    /// Decodes bytes `Packed.encode` wrote, or the JSON that versions before
    /// Packed wrote in the same place (Raft entries, snapshots, a client's
    /// local state).
    static func decode<T: Decodable>(_ type: T.Type, fromPackedOrJSON bytes: [UInt8]) throws -> T {
        if isPacked(bytes) { return try decode(type, from: bytes) }
        return try JSONDecoder().decode(type, from: Data(bytes))
    }
}
