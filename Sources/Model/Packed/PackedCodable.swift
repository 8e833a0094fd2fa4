/// A type that writes and reads its ``Packed`` form itself.
///
/// Through `Codable`, each field costs a container value, a lookup of its key
/// by name and a coding path built for it; for the values that every plan,
/// status update, node watch and client checkpoint carries (allocations, their
/// task states and timestamps, evaluations), that was most of the time spent
/// coding them. A type conforming here writes exactly the bytes its `Codable`
/// conformance writes (fields in declaration order, nil optionals left out),
/// so either side reads what the other wrote; it reads fields in any order,
/// skips fields it does not know and refuses a missing required field, as
/// `Codable` does. `PackedCodableTests` holds each to its `Codable` twin.
///
/// ``PackedWriter/encodeValue(_:codingPath:)`` and
/// ``PackedReader/decodeValue(_:at:codingPath:)`` take this path for any
/// value that has it, also inside a value coded through `Codable`.
@_spi(PackedForms) public protocol PackedCodable {
    func pack(into writer: PackedWriter)
    init(unpacking value: PackedValue) throws
}

/// The fields of a map written by ``PackedCodable``, named by their raw values.
@_spi(PackedForms) public protocol PackedFields: RawRepresentable<String>, CaseIterable, Hashable, Sendable {
    /// The names and which of them are required: one table per type, built
    /// once (`static let table = PackedFieldTable(Self.self, optional: […])`).
    static var table: PackedFieldTable<Self> { get }
}

/// The fields of one map type: their names as bytes, in declaration order
/// (the order they are written in), and which must be present.
@_spi(PackedForms) public struct PackedFieldTable<Field: PackedFields>: Sendable {
    let fields: [Field]
    let names: [[UInt8]]
    let required: UInt64

    /// - Parameter optional: the fields a reader may find missing (optionals, and fields
    ///   a later version added with a default).
    public init(_ type: Field.Type, optional: [Field] = []) {
        fields = Array(Field.allCases)
        precondition(fields.count <= 64, "a Packed field table holds at most 64 fields")
        names = fields.map { Array($0.rawValue.utf8) }
        var required: UInt64 = 0
        for (i, field) in fields.enumerated() where !optional.contains(field) { required |= 1 << UInt64(i) }
        self.required = required
    }

    /// The index of the field named by `name`, trying `guess` first: fields
    /// are usually read in the order they were written.
    func index(of name: UnsafeBufferPointer<UInt8>, guess: Int) -> Int? {
        if guess < names.count, names[guess].elementsEqual(name) { return guess }
        return names.firstIndex { $0.elementsEqual(name) }
    }
}

/// A key in the coding path of an error found on the hand-written path.
struct PackedKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

// MARK: Writing

extension PackedWriter {
    /// Writes a map; `body` writes its fields through the ``PackedMapWriter`` it is given.
    @_spi(PackedForms) public func map<Field: PackedFields>(_ type: Field.Type, _ body: (PackedMapWriter<Field>) -> Void) {
        let depth = openDepth
        _ = openContainer(.map)
        body(PackedMapWriter(writer: self))
        close(toDepth: depth)
    }

    /// Writes a list of `items`, each with `item`.
    @_spi(PackedForms) public func list<C: Collection>(_ items: C, _ item: (C.Element) -> Void) {
        let depth = openDepth
        _ = openContainer(.list)
        for element in items {
            countItem()
            item(element)
        }
        close(toDepth: depth)
    }

    /// Writes a `[String: Value]` as `Codable` does: a map keyed by the strings.
    @_spi(PackedForms) public func map<Value>(_ dictionary: [String: Value], _ value: (Value) -> Void) {
        let depth = openDepth
        _ = openContainer(.map)
        for (key, element) in dictionary {
            countItem()
            text(key)
            value(element)
        }
        close(toDepth: depth)
    }
}

/// Writes the fields of one map, each as its key and then its value. A field
/// whose value is nil is left out, as `encodeIfPresent` leaves it out.
@_spi(PackedForms) public struct PackedMapWriter<Field: PackedFields> {
    let writer: PackedWriter

    private func key(_ field: Field) {
        writer.countItem()
        writer.text(field.rawValue)
    }

    public func write(_ field: Field, _ value: String) { key(field); writer.write(value) }
    public func write(_ field: Field, _ value: Bool) { key(field); writer.write(value) }
    public func write(_ field: Field, _ value: Int) { key(field); writer.write(signed: Int64(value)) }
    public func write(_ field: Field, _ value: Int32) { key(field); writer.write(signed: Int64(value)) }
    public func write(_ field: Field, _ value: UInt64) { key(field); writer.write(unsigned: value) }
    public func write<R: RawRepresentable<String>>(_ field: Field, _ value: R) { key(field); writer.write(value.rawValue) }
    public func write(_ field: Field, _ value: some PackedCodable) { key(field); value.pack(into: writer) }

    public func write(_ field: Field, _ value: String?) { if let value { write(field, value) } }
    public func write(_ field: Field, _ value: Bool?) { if let value { write(field, value) } }
    public func write(_ field: Field, _ value: Int?) { if let value { write(field, value) } }
    public func write(_ field: Field, _ value: Int32?) { if let value { write(field, value) } }
    public func write(_ field: Field, _ value: UInt64?) { if let value { write(field, value) } }
    public func write<R: RawRepresentable<String>>(_ field: Field, _ value: R?) { if let value { write(field, value) } }
    public func write(_ field: Field, _ value: (some PackedCodable)?) { if let value { write(field, value) } }

    public func write(_ field: Field, _ values: [String]) {
        key(field)
        writer.list(values) { writer.write($0) }
    }

    public func write(_ field: Field, _ values: [some PackedCodable]) {
        key(field)
        writer.list(values) { $0.pack(into: writer) }
    }

    public func write(_ field: Field, _ values: [String: some PackedCodable]) {
        key(field)
        writer.map(values) { $0.pack(into: writer) }
    }

    public func write(_ field: Field, _ values: [String: Int]) {
        key(field)
        writer.map(values) { writer.write(signed: Int64($0)) }
    }

    /// A field of a type without a hand-written form, written through
    /// `Codable`; an error it throws is thrown by `Packed.encode`.
    public func write(_ field: Field, codable value: some Encodable) {
        key(field)
        do {
            try writer.encodeValue(value, codingPath: [PackedKey(field.rawValue)])
        } catch {
            writer.record(error)
        }
    }

    public func write(_ field: Field, codable value: (some Encodable)?) { if let value { write(field, codable: value) } }
}

// MARK: Reading

/// One value in Packed bytes, read by the type its caller asks for.
@_spi(PackedForms) public struct PackedValue {
    let reader: PackedReader
    let offset: Int

    public var isNil: Bool { reader.isNil(at: offset) }

    public func decode() throws -> String { try reader.string(at: offset, []) }
    public func decode() throws -> Bool { try reader.bool(at: offset, []) }
    public func decode() throws -> Int { try reader.integer(Int.self, at: offset, []) }
    public func decode() throws -> Int32 { try reader.integer(Int32.self, at: offset, []) }
    public func decode() throws -> UInt64 { try reader.integer(UInt64.self, at: offset, []) }
    public func decode<T: PackedCodable>() throws -> T { try T(unpacking: self) }

    public func decode<R: RawRepresentable<String>>() throws -> R {
        let raw = try reader.string(at: offset, [])
        guard let value = R(rawValue: raw) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "Cannot initialize \(R.self) from invalid String value \(raw)"))
        }
        return value
    }

    /// Nil for an explicit nil, as `decodeIfPresent` reads it.
    public func decode() throws -> String? { isNil ? nil : try decode() as String }
    public func decode() throws -> Bool? { isNil ? nil : try decode() as Bool }
    public func decode() throws -> Int? { isNil ? nil : try decode() as Int }
    public func decode() throws -> Int32? { isNil ? nil : try decode() as Int32 }
    public func decode() throws -> UInt64? { isNil ? nil : try decode() as UInt64 }
    public func decode<R: RawRepresentable<String>>() throws -> R? { isNil ? nil : try decode() as R }
    public func decode<T: PackedCodable>() throws -> T? { isNil ? nil : try T(unpacking: self) }

    public func decode() throws -> [String] { try items { try $0.decode() } }
    public func decode<T: PackedCodable>() throws -> [T] { try items { try T(unpacking: $0) } }

    public func decode<T: PackedCodable>() throws -> [String: T] { try entries { try T(unpacking: $0) } }
    public func decode() throws -> [String: Int] { try entries { try $0.decode() } }

    /// A value of a type without a hand-written form, read through `Codable`
    /// (an optional type reads an explicit nil as nil).
    public func decode<T: Decodable>(codable type: T.Type) throws -> T {
        try reader.decodeValue(type, at: offset, codingPath: [])
    }

    /// The items of the list here, each read by `item`.
    public func items<T>(_ item: (PackedValue) throws -> T) throws -> [T] {
        let (body, count) = try reader.container(.list, at: offset, [], as: [T].self)
        var out: [T] = []
        out.reserveCapacity(count)
        var next = body.lowerBound
        while next < body.upperBound {
            out.append(try Self.prefixingErrors(with: PackedIndex(out.count)) { try item(PackedValue(reader: reader, offset: next)) })
            next = try reader.skip(from: next, codingPath: [])
        }
        return out
    }

    /// The entries of the map here, as `Codable` writes a `[String: T]`,
    /// each value read by `value`.
    public func entries<T>(_ value: (PackedValue) throws -> T) throws -> [String: T] {
        let (body, count) = try reader.container(.map, at: offset, [], as: [String: T].self)
        var out: [String: T] = [:]
        out.reserveCapacity(count)
        var entry = body.lowerBound
        while entry < body.upperBound {
            let name = try reader.text(at: entry, [])
            let key = reader.bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[name]), as: UTF8.self) }
            out[key] = try Self.prefixingErrors(with: PackedKey(key)) { try value(PackedValue(reader: reader, offset: name.upperBound)) }
            entry = try reader.skip(from: name.upperBound, codingPath: [])
        }
        return out
    }

    /// Reads the map here: calls `body` with each field `Field` names (in
    /// the order written; fields it does not name are skipped) and its value.
    /// Throws `keyNotFound` when a required field is missing.
    public func fields<Field: PackedFields>(_ type: Field.Type, _ body: (Field, PackedValue) throws -> Void) throws {
        let table = Field.table
        let (map, _) = try reader.container(.map, at: offset, [], as: [String: Any].self)
        var seen: UInt64 = 0
        var guess = 0
        var entry = map.lowerBound
        while entry < map.upperBound {
            let name = try reader.text(at: entry, [])
            let index = reader.bytes.withUnsafeBufferPointer { table.index(of: UnsafeBufferPointer(rebasing: $0[name]), guess: guess) }
            if let index {
                let field = table.fields[index]
                try Self.prefixingErrors(with: PackedKey(field.rawValue)) {
                    try body(field, PackedValue(reader: reader, offset: name.upperBound))
                }
                seen |= 1 << UInt64(index)
                guess = index + 1
            }
            entry = try reader.skip(from: name.upperBound, codingPath: [])
        }
        let missing = table.required & ~seen
        if missing != 0 {
            let field = table.fields[missing.trailingZeroBitCount]
            throw DecodingError.keyNotFound(PackedKey(field.rawValue), .init(codingPath: [], debugDescription: "no value for \"\(field.rawValue)\""))
        }
    }

    /// Runs `body`; a decoding error it throws gets `key` in front of its coding path.
    static func prefixingErrors<T>(with key: any CodingKey, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DecodingError {
            throw error.prefixed(by: [key])
        }
    }
}

/// An item's place in a list, in the coding path of an error.
struct PackedIndex: CodingKey {
    var intValue: Int?
    var stringValue: String { "Index \(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

extension DecodingError {
    /// The same error, with `path` in front of its coding path.
    func prefixed(by path: [any CodingKey]) -> DecodingError {
        switch self {
        case let .typeMismatch(type, context): .typeMismatch(type, context.prefixed(by: path))
        case let .valueNotFound(type, context): .valueNotFound(type, context.prefixed(by: path))
        case let .keyNotFound(key, context): .keyNotFound(key, context.prefixed(by: path))
        case let .dataCorrupted(context): .dataCorrupted(context.prefixed(by: path))
        @unknown default: self
        }
    }
}

extension DecodingError.Context {
    func prefixed(by path: [any CodingKey]) -> DecodingError.Context {
        DecodingError.Context(codingPath: path + codingPath, debugDescription: debugDescription, underlyingError: underlyingError)
    }
}

extension PackedCodable {
    /// Writes `value`, which is of this type, with its hand-written form.
    static func pack<T>(_ value: T, into writer: PackedWriter) {
        (value as! Self).pack(into: writer)
    }

    /// Reads a value of this type, which is `T`, with its hand-written form.
    static func unpack<T>(_ value: PackedValue, as type: T.Type) throws -> T {
        try Self(unpacking: value) as! T
    }
}
