/// A compact, self-describing binary form of `Codable` values: what the
/// servers write into Raft entries and snapshots and what clients keep on
/// disk, where JSON's text, escaping and number formatting cost more than the
/// work itself.
///
/// Every value starts with a tag byte:
///
/// | tag | value |
/// |---|---|
/// | `0x00` | nil |
/// | `0x01`, `0x02` | false, true |
/// | `0x03` | a signed integer, zigzag varint |
/// | `0x04` | an unsigned integer, varint |
/// | `0x05` | a `Double`, 8 bytes little-endian |
/// | `0x06` | a `Float`, 4 bytes little-endian |
/// | `0x07` | a string: varint byte count, then UTF-8 |
/// | `0x08` | a list: u32 body length, u32 count, then the items |
/// | `0x09` | a map: u32 body length, u32 count, then (key as varint length and UTF-8, value) pairs |
///
/// Maps keep their keys as text, so a reader finds fields by name: a field
/// added later is skipped by an older reader and missing from an older
/// writer's bytes, as with JSON. Lists and maps carry their length, so a
/// reader skips a value it does not want without reading it.
public enum Packed {
    /// Encodes `value`.
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        try encode(value, usesHandWrittenForms: true)
    }

    /// Decodes a `T` from bytes `encode` wrote.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try decode(type, from: bytes, usesHandWrittenForms: true)
    }

    /// `encode`, choosing whether values with a ``PackedCodable`` form are
    /// written with it (tests and benchmarks compare it with `Codable`'s).
    @_spi(Testing) public static func encode<T: Encodable>(_ value: T, usesHandWrittenForms: Bool) throws -> [UInt8] {
        let writer = PackedWriter(usesHandWrittenForms: usesHandWrittenForms)
        try writer.encodeValue(value, codingPath: [])
        if let failure = writer.failure { throw failure }
        writer.close(toDepth: 0)
        return writer.bytes
    }

    /// `decode`, choosing whether values with a ``PackedCodable`` form are
    /// read with it (tests and benchmarks compare it with `Codable`'s).
    @_spi(Testing) public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], usesHandWrittenForms: Bool) throws -> T {
        let reader = PackedReader(bytes, usesHandWrittenForms: usesHandWrittenForms)
        let end = try reader.skip(from: 0, codingPath: [])
        guard end == bytes.count else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "\(bytes.count - end) bytes follow the value"))
        }
        return try reader.decodeValue(type, at: 0, codingPath: [])
    }
}

extension Packed {
    /// Whether `bytes` begin as Packed bytes do. JSON's first byte (`{`,
    /// `[`, `"`, a digit or a letter) is never a Packed tag, so a reader can
    /// tell the two apart where an earlier version wrote JSON.
    public static func isPacked(_ bytes: [UInt8]) -> Bool {
        bytes.first.map { $0 <= PackedTag.map.rawValue } ?? false
    }
}

enum PackedTag: UInt8 {
    case null = 0, `false`, `true`, int, uint, double, float, string, list, map
}
