/// Reads ``Packed`` bytes in place: a container is a range of the buffer,
/// found again by offset, never copied into a tree first.
struct PackedReader {
    let bytes: [UInt8]
    /// Whether values with a ``PackedCodable`` form are read with it
    /// (false only in tests, to compare it with the `Codable` form).
    let usesHandWrittenForms: Bool

    init(_ bytes: [UInt8], usesHandWrittenForms: Bool = true) {
        self.bytes = bytes
        self.usesHandWrittenForms = usesHandWrittenForms
    }

    func tag(at offset: Int, _ codingPath: [any CodingKey]) throws -> PackedTag {
        guard offset < bytes.count else { throw Self.corrupted(codingPath, "the bytes end before a value") }
        guard let tag = PackedTag(rawValue: bytes[offset]) else {
            throw Self.corrupted(codingPath, "unknown tag \(bytes[offset]) at byte \(offset)")
        }
        return tag
    }

    /// The varint at `offset` and the offset after it.
    func varint(at offset: Int, _ codingPath: [any CodingKey]) throws -> (UInt64, Int) {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var i = offset
        while i < bytes.count, shift < 64 {
            let byte = bytes[i]
            value |= UInt64(byte & 0x7F) << shift
            i += 1
            if byte < 0x80 { return (value, i) }
            shift += 7
        }
        throw Self.corrupted(codingPath, "a malformed varint at byte \(offset)")
    }

    func u32(at offset: Int, _ codingPath: [any CodingKey]) throws -> Int {
        guard offset + 4 <= bytes.count else { throw Self.corrupted(codingPath, "the bytes end inside a header") }
        return Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 24
    }

    /// A list's or map's body, after checking `offset` holds one of `tag`.
    func container(_ tag: PackedTag, at offset: Int, _ codingPath: [any CodingKey], as type: Any.Type) throws -> (body: Range<Int>, count: Int) {
        let found = try self.tag(at: offset, codingPath)
        guard found == tag else {
            throw DecodingError.typeMismatch(type, .init(codingPath: codingPath, debugDescription: "expected a \(tag), found a \(found)"))
        }
        let length = try u32(at: offset + 1, codingPath)
        let count = try u32(at: offset + 5, codingPath)
        let start = offset + 9
        guard start + length <= bytes.count else { throw Self.corrupted(codingPath, "a \(tag) runs past the end of the bytes") }
        // Every item takes a byte at least.
        guard count <= length else { throw Self.corrupted(codingPath, "a \(tag) of \(length) bytes claims \(count) items") }
        return (start..<start + length, count)
    }

    /// The offset just after the value at `offset`.
    func skip(from offset: Int, codingPath: [any CodingKey]) throws -> Int {
        switch try tag(at: offset, codingPath) {
        case .null, .false, .true: return offset + 1
        case .int, .uint: return try varint(at: offset + 1, codingPath).1
        case .double: return try bounded(offset + 9, codingPath)
        case .float: return try bounded(offset + 5, codingPath)
        case .string:
            let (length, start) = try varint(at: offset + 1, codingPath)
            return try bounded(start + Int(clamping: length), codingPath)
        case .list, .map:
            return try bounded(offset + 9 + u32(at: offset + 1, codingPath), codingPath)
        }
    }

    private func bounded(_ end: Int, _ codingPath: [any CodingKey]) throws -> Int {
        guard end <= bytes.count, end >= 0 else { throw Self.corrupted(codingPath, "a value runs past the end of the bytes") }
        return end
    }

    /// A string's (or map key's) UTF-8 range: `offset` is its varint length.
    func text(at offset: Int, _ codingPath: [any CodingKey]) throws -> Range<Int> {
        let (length, start) = try varint(at: offset, codingPath)
        let end = try bounded(start + Int(clamping: length), codingPath)
        return start..<end
    }

    static func corrupted(_ codingPath: [any CodingKey], _ why: String) -> DecodingError {
        DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "Packed: \(why)"))
    }

    // MARK: Scalars

    func isNil(at offset: Int) -> Bool { offset < bytes.count && bytes[offset] == PackedTag.null.rawValue }

    func bool(at offset: Int, _ codingPath: [any CodingKey]) throws -> Bool {
        switch try tag(at: offset, codingPath) {
        case .true: return true
        case .false: return false
        case let other: throw DecodingError.typeMismatch(Bool.self, .init(codingPath: codingPath, debugDescription: "expected a bool, found a \(other)"))
        }
    }

    func string(at offset: Int, _ codingPath: [any CodingKey]) throws -> String {
        let found = try tag(at: offset, codingPath)
        guard found == .string else {
            throw DecodingError.typeMismatch(String.self, .init(codingPath: codingPath, debugDescription: "expected a string, found a \(found)"))
        }
        let range = try text(at: offset + 1, codingPath)
        return bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self) }
    }

    func integer<T: FixedWidthInteger>(_ type: T.Type, at offset: Int, _ codingPath: [any CodingKey]) throws -> T {
        let found = try tag(at: offset, codingPath)
        let value: T?
        switch found {
        case .int:
            let raw = try varint(at: offset + 1, codingPath).0
            value = T(exactly: Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1))
        case .uint:
            value = T(exactly: try varint(at: offset + 1, codingPath).0)
        default:
            throw DecodingError.typeMismatch(type, .init(codingPath: codingPath, debugDescription: "expected an integer, found a \(found)"))
        }
        guard let value else { throw Self.corrupted(codingPath, "the number does not fit \(T.self)") }
        return value
    }

    func double(at offset: Int, _ codingPath: [any CodingKey]) throws -> Double {
        switch try tag(at: offset, codingPath) {
        case .double:
            _ = try bounded(offset + 9, codingPath)
            var bits: UInt64 = 0
            for i in 0..<8 { bits |= UInt64(bytes[offset + 1 + i]) << (8 * UInt64(i)) }
            return Double(bitPattern: bits)
        case .float:
            _ = try bounded(offset + 5, codingPath)
            var bits: UInt32 = 0
            for i in 0..<4 { bits |= UInt32(bytes[offset + 1 + i]) << (8 * UInt32(i)) }
            return Double(Float(bitPattern: bits))
        case .int: return Double(try integer(Int64.self, at: offset, codingPath))
        case .uint: return Double(try integer(UInt64.self, at: offset, codingPath))
        case let other: throw DecodingError.typeMismatch(Double.self, .init(codingPath: codingPath, debugDescription: "expected a number, found a \(other)"))
        }
    }

    func decodeValue<T: Decodable>(_ type: T.Type, at offset: Int, codingPath: [any CodingKey]) throws -> T {
        if usesHandWrittenForms, let form = T.self as? any PackedCodable.Type {
            do {
                return try form.unpack(PackedValue(reader: self, offset: offset), as: type)
            } catch let error as DecodingError {
                throw error.prefixed(by: codingPath)
            }
        }
        return try T(from: PackedDecoding(reader: self, offset: offset, codingPath: codingPath))
    }

    /// The document tree at `offset`, read by its tags: what
    /// `SpecValue.init(from:)` finds by trying each kind in turn through
    /// `Decoder`, where every miss throws an error with a formatted message
    /// (a job's spec took 177 µs to decode that way). Maps come out sorted by
    /// key, as through `Decoder`.
    func specValue(at offset: Int, _ codingPath: [any CodingKey]) throws -> SpecValue {
        switch try tag(at: offset, codingPath) {
        case .null: return .null
        case .false: return .bool(false)
        case .true: return .bool(true)
        case .int: return .int(try integer(Int.self, at: offset, codingPath))
        case .uint:
            if let value = Int(exactly: try varint(at: offset + 1, codingPath).0) { return .int(value) }
            return .double(try double(at: offset, codingPath))
        case .double, .float: return .double(try double(at: offset, codingPath))
        case .string: return .string(try string(at: offset, codingPath))
        case .list:
            let (body, count) = try container(.list, at: offset, codingPath, as: [Any].self)
            var items: [SpecValue] = []
            items.reserveCapacity(count)
            var next = body.lowerBound
            while next < body.upperBound {
                items.append(try specValue(at: next, codingPath))
                next = try skip(from: next, codingPath: codingPath)
            }
            return .list(items)
        case .map:
            let (body, count) = try container(.map, at: offset, codingPath, as: [String: Any].self)
            var pairs: [(key: String, value: SpecValue)] = []
            pairs.reserveCapacity(count)
            var entry = body.lowerBound
            while entry < body.upperBound {
                let name = try text(at: entry, codingPath)
                let key = bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[name]), as: UTF8.self) }
                pairs.append((key, try specValue(at: name.upperBound, codingPath)))
                entry = try skip(from: name.upperBound, codingPath: codingPath)
            }
            if !pairs.indices.dropFirst().allSatisfy({ pairs[$0 - 1].key <= pairs[$0].key }) {
                pairs.sort { $0.key < $1.key }
            }
            return .map(pairs)
        }
    }
}

/// The `Decoder` handed to a value's `init(from:)`.
struct PackedDecoding: Decoder {
    let reader: PackedReader
    let offset: Int
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        let (body, count) = try reader.container(.map, at: offset, codingPath, as: [String: Any].self)
        return KeyedDecodingContainer(PackedKeyedDecoding<Key>(map: PackedMap(reader: reader, body: body, count: count), codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (body, count) = try reader.container(.list, at: offset, codingPath, as: [Any].self)
        return PackedUnkeyedDecoding(reader: reader, next: body.lowerBound, end: body.upperBound, count: count, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        PackedSingleValueDecoding(reader: reader, offset: offset, codingPath: codingPath)
    }
}

/// A map's entries, found by key. Fields are usually read in the order they
/// were written, so each lookup first tries the entry after the last one
/// found, and only then scans the map.
final class PackedMap {
    let reader: PackedReader
    let body: Range<Int>
    let count: Int
    /// The entry after the last one found.
    private var cursor: Int
    /// The last key found and its value's offset (`decodeIfPresent` asks twice).
    private var last: (key: String, value: Int)?

    init(reader: PackedReader, body: Range<Int>, count: Int) {
        self.reader = reader
        self.body = body
        self.count = count
        self.cursor = body.lowerBound
    }

    /// The offset of `key`'s value, or nil when the map has no such key.
    func value(for key: String, _ codingPath: [any CodingKey]) throws -> Int? {
        if let last, last.key == key { return last.value }
        var utf8 = key
        let found = try utf8.withUTF8 { wanted in
            // From the cursor to the end, then from the start to the cursor.
            try find(wanted, from: cursor, to: body.upperBound, codingPath)
                ?? find(wanted, from: body.lowerBound, to: cursor, codingPath)
        }
        guard let found else { return nil }
        cursor = found.end
        last = (key, found.value)
        return found.value
    }

    /// The value of the entry named `wanted` between `start` and `end`, and where it ends.
    private func find(
        _ wanted: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, _ codingPath: [any CodingKey]
    ) throws -> (value: Int, end: Int)? {
        var entry = start
        while entry < end {
            let name = try reader.text(at: entry, codingPath)
            let valueEnd = try reader.skip(from: name.upperBound, codingPath: codingPath)
            let matches = name.count == wanted.count && reader.bytes.withUnsafeBufferPointer {
                UnsafeBufferPointer(rebasing: $0[name]).elementsEqual(wanted)
            }
            if matches { return (name.upperBound, valueEnd) }
            entry = valueEnd
        }
        return nil
    }

    /// Every key, in the order written.
    func keys(_ codingPath: [any CodingKey]) throws -> [String] {
        var out: [String] = []
        out.reserveCapacity(count)
        var entry = body.lowerBound
        while entry < body.upperBound {
            let name = try reader.text(at: entry, codingPath)
            out.append(reader.bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[name]), as: UTF8.self) })
            entry = try reader.skip(from: name.upperBound, codingPath: codingPath)
        }
        return out
    }
}

struct PackedKeyedDecoding<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let map: PackedMap
    let codingPath: [any CodingKey]

    var allKeys: [Key] { ((try? map.keys(codingPath)) ?? []).compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { ((try? map.value(for: key.stringValue, codingPath)) ?? nil) != nil }

    private func offset(_ key: Key) throws -> Int {
        guard let offset = try map.value(for: key.stringValue, codingPath) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no value for \"\(key.stringValue)\""))
        }
        return offset
    }

    private var reader: PackedReader { map.reader }

    func decodeNil(forKey key: Key) throws -> Bool { reader.isNil(at: try offset(key)) }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try reader.bool(at: offset(key), codingPath + [key]) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try reader.string(at: offset(key), codingPath + [key]) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try reader.double(at: offset(key), codingPath + [key]) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try reader.double(at: offset(key), codingPath + [key])) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try reader.integer(type, at: offset(key), codingPath + [key]) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try reader.integer(type, at: offset(key), codingPath + [key]) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try reader.integer(type, at: offset(key), codingPath + [key]) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try reader.integer(type, at: offset(key), codingPath + [key]) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try reader.integer(type, at: offset(key), codingPath + [key]) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try reader.integer(type, at: offset(key), codingPath + [key]) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try reader.integer(type, at: offset(key), codingPath + [key]) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try reader.integer(type, at: offset(key), codingPath + [key]) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try reader.integer(type, at: offset(key), codingPath + [key]) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try reader.integer(type, at: offset(key), codingPath + [key]) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try reader.decodeValue(type, at: offset(key), codingPath: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try PackedDecoding(reader: reader, offset: offset(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try PackedDecoding(reader: reader, offset: offset(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { try superDecoder(forKey: Key(stringValue: "super")!) }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        PackedDecoding(reader: reader, offset: try offset(key), codingPath: codingPath + [key])
    }
}

struct PackedUnkeyedDecoding: UnkeyedDecodingContainer {
    let reader: PackedReader
    /// The next item's offset.
    private var next: Int
    private let end: Int
    let codingPath: [any CodingKey]
    var count: Int?
    private(set) var currentIndex = 0

    init(reader: PackedReader, next: Int, end: Int, count: Int, codingPath: [any CodingKey]) {
        self.reader = reader
        self.next = next
        self.end = end
        self.count = count
        self.codingPath = codingPath
    }

    var isAtEnd: Bool { next >= end }

    /// The next item's offset, moving past it.
    private mutating func item<T>(_ type: T.Type) throws -> Int {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath, debugDescription: "the list has no item \(currentIndex)"))
        }
        let offset = next
        next = try reader.skip(from: offset, codingPath: codingPath)
        currentIndex += 1
        return offset
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, reader.isNil(at: next) else { return false }
        _ = try item(Never.self)
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try reader.bool(at: item(type), codingPath) }
    mutating func decode(_ type: String.Type) throws -> String { try reader.string(at: item(type), codingPath) }
    mutating func decode(_ type: Double.Type) throws -> Double { try reader.double(at: item(type), codingPath) }
    mutating func decode(_ type: Float.Type) throws -> Float { Float(try reader.double(at: item(type), codingPath)) }
    mutating func decode(_ type: Int.Type) throws -> Int { try reader.integer(type, at: item(type), codingPath) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try reader.integer(type, at: item(type), codingPath) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try reader.integer(type, at: item(type), codingPath) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try reader.integer(type, at: item(type), codingPath) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try reader.integer(type, at: item(type), codingPath) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try reader.integer(type, at: item(type), codingPath) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try reader.integer(type, at: item(type), codingPath) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try reader.integer(type, at: item(type), codingPath) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try reader.integer(type, at: item(type), codingPath) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try reader.integer(type, at: item(type), codingPath) }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try reader.decodeValue(type, at: item(type), codingPath: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try PackedDecoding(reader: reader, offset: item(type), codingPath: codingPath).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try PackedDecoding(reader: reader, offset: item([Any].self), codingPath: codingPath).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        PackedDecoding(reader: reader, offset: try item(Any.self), codingPath: codingPath)
    }
}

struct PackedSingleValueDecoding: SingleValueDecodingContainer {
    let reader: PackedReader
    let offset: Int
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool { reader.isNil(at: offset) }
    func decode(_ type: Bool.Type) throws -> Bool { try reader.bool(at: offset, codingPath) }
    func decode(_ type: String.Type) throws -> String { try reader.string(at: offset, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try reader.double(at: offset, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { Float(try reader.double(at: offset, codingPath)) }
    func decode(_ type: Int.Type) throws -> Int { try reader.integer(type, at: offset, codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try reader.integer(type, at: offset, codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try reader.integer(type, at: offset, codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try reader.integer(type, at: offset, codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try reader.integer(type, at: offset, codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try reader.integer(type, at: offset, codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try reader.integer(type, at: offset, codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try reader.integer(type, at: offset, codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try reader.integer(type, at: offset, codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try reader.integer(type, at: offset, codingPath) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try reader.decodeValue(type, at: offset, codingPath: codingPath)
    }
}
