/// Writes ``Packed`` bytes for one value, its containers straight into one buffer.
///
/// A list's or map's length and count are known only once its last item is
/// written, so its header is written with room for them and patched when the
/// container closes. Containers are open in a stack: writing into one closes
/// every container opened after it (its finished items). Codable's own types
/// and synthesized conformances always nest this way; writing into a
/// container after it closed is refused with an error, never misencoded.
///
/// One encoding uses a writer, on one thread, and no access to its state
/// overlaps another; so its state is not checked for exclusive access at run
/// time, which cost a third of encoding (a thread-local lookup per append).
@_spi(PackedForms) public final class PackedWriter {
    @exclusivity(unchecked) private(set) var bytes: [UInt8] = []
    /// The open containers, outermost first.
    @exclusivity(unchecked) private var open: [(id: Int, header: Int, count: UInt32)] = []
    @exclusivity(unchecked) private var nextID = 0
    /// The first error met where a caller could not throw it (see
    /// ``PackedMapWriter/write(_:codable:)``); `Packed.encode` throws it.
    private(set) var failure: (any Error)?
    /// Whether values with a ``PackedCodable`` form are written with it
    /// (false only in tests, to compare it with the `Codable` form).
    let usesHandWrittenForms: Bool

    init(usesHandWrittenForms: Bool = true) {
        self.usesHandWrittenForms = usesHandWrittenForms
        bytes.reserveCapacity(256)
    }

    // MARK: Containers

    /// Opens a list or map and returns its id.
    func openContainer(_ tag: PackedTag) -> Int {
        nextID += 1
        open.append((nextID, bytes.count, 0))
        bytes.append(tag.rawValue)
        bytes.append(contentsOf: [0, 0, 0, 0, 0, 0, 0, 0])
        return nextID
    }

    /// Readies container `id` for its next item: closes what was opened
    /// inside it since, and counts the item.
    /// (`codingPath` is built only for an error: most items are scalars.)
    func beginItem(of id: Int, codingPath: @autoclosure () -> [any CodingKey]) throws {
        while let last = open.last, last.id != id {
            guard last.id > id else { throw Self.closed(codingPath()) }
            close()
        }
        guard !open.isEmpty else { throw Self.closed(codingPath()) }
        open[open.count - 1].count += 1
    }

    /// Keeps `error` for `Packed.encode` to throw, unless one is kept already.
    func record(_ error: any Error) {
        if failure == nil { failure = error }
    }

    /// How many containers are open: pass it to `close(toDepth:)` to close
    /// what is opened after this.
    var openDepth: Int { open.count }

    /// Counts an item of the innermost open container, where the caller
    /// writes it next (nothing opened inside that container is still open).
    func countItem() {
        open[open.count - 1].count += 1
    }

    /// Closes the containers opened at or after `depth` in the stack.
    func close(toDepth depth: Int) {
        while open.count > depth { close() }
    }

    private func close() {
        let container = open.removeLast()
        let length = UInt32(bytes.count - container.header - 9)
        patch(length, at: container.header + 1)
        patch(container.count, at: container.header + 5)
    }

    private func patch(_ value: UInt32, at offset: Int) {
        bytes[offset] = UInt8(truncatingIfNeeded: value)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value >> 8)
        bytes[offset + 2] = UInt8(truncatingIfNeeded: value >> 16)
        bytes[offset + 3] = UInt8(truncatingIfNeeded: value >> 24)
    }

    private static func closed(_ codingPath: [any CodingKey]) -> EncodingError {
        EncodingError.invalidValue((), .init(codingPath: codingPath, debugDescription: "Packed: a container was written to after a container opened after it; containers must nest"))
    }

    // MARK: Scalars

    func writeNil() { bytes.append(PackedTag.null.rawValue) }

    func write(_ value: Bool) { bytes.append(value ? PackedTag.true.rawValue : PackedTag.false.rawValue) }

    func write(signed value: Int64) {
        bytes.append(PackedTag.int.rawValue)
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    func write(unsigned value: UInt64) {
        bytes.append(PackedTag.uint.rawValue)
        varint(value)
    }

    func write(_ value: Double) {
        bytes.append(PackedTag.double.rawValue)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    func write(_ value: Float) {
        bytes.append(PackedTag.float.rawValue)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    func write(_ value: String) {
        bytes.append(PackedTag.string.rawValue)
        text(value)
    }

    /// A map key, or a string's body: varint length, then UTF-8.
    func text(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    private func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Writes a document tree by its kinds: the bytes `SpecValue.encode(to:)`
    /// writes through `Encoder`, without a container value and a coding path
    /// per node. Every container it opens is closed when it returns.
    func write(_ tree: SpecValue) {
        switch tree {
        case .null: writeNil()
        case .bool(let value): write(value)
        case .int(let value): write(signed: Int64(value))
        case .double(let value): write(value)
        case .string(let value): write(value)
        case .list(let items):
            let depth = open.count
            _ = openContainer(.list)
            for item in items {
                open[depth].count += 1
                write(item)
            }
            close(toDepth: depth)
        case .map(let pairs):
            let depth = open.count
            _ = openContainer(.map)
            for pair in pairs {
                open[depth].count += 1
                text(pair.key)
                write(pair.value)
            }
            close(toDepth: depth)
        }
    }

    // MARK: Values

    /// Writes one whole value: a scalar, or a container it opens and fills.
    func encodeValue<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws {
        if usesHandWrittenForms, let form = T.self as? any PackedCodable.Type {
            form.pack(value, into: self)
            return
        }
        let start = bytes.count
        let depth = open.count
        try value.encode(to: PackedEncoding(writer: self, codingPath: codingPath))
        // Close what the value opened, so the bytes that follow are its parent's.
        close(toDepth: depth)
        // A value that wrote nothing reads back as an empty map, as JSON's `{}`.
        if bytes.count == start {
            _ = openContainer(.map)
            close(toDepth: depth)
        }
    }
}

/// The `Encoder` handed to a value's `encode(to:)`.
struct PackedEncoding: Encoder {
    let writer: PackedWriter
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(PackedKeyedEncoding<Key>(writer: writer, id: writer.openContainer(.map), codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        PackedUnkeyedEncoding(writer: writer, id: writer.openContainer(.list), codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        PackedSingleValueEncoding(writer: writer, codingPath: codingPath)
    }
}

struct PackedKeyedEncoding<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let writer: PackedWriter
    let id: Int
    let codingPath: [any CodingKey]

    private func key(_ key: Key) throws {
        try writer.beginItem(of: id, codingPath: codingPath + [key])
        writer.text(key.stringValue)
    }

    mutating func encodeNil(forKey k: Key) throws { try key(k); writer.writeNil() }
    mutating func encode(_ value: Bool, forKey k: Key) throws { try key(k); writer.write(value) }
    mutating func encode(_ value: String, forKey k: Key) throws { try key(k); writer.write(value) }
    mutating func encode(_ value: Double, forKey k: Key) throws { try key(k); writer.write(value) }
    mutating func encode(_ value: Float, forKey k: Key) throws { try key(k); writer.write(value) }
    mutating func encode(_ value: Int, forKey k: Key) throws { try key(k); writer.write(signed: Int64(value)) }
    mutating func encode(_ value: Int8, forKey k: Key) throws { try key(k); writer.write(signed: Int64(value)) }
    mutating func encode(_ value: Int16, forKey k: Key) throws { try key(k); writer.write(signed: Int64(value)) }
    mutating func encode(_ value: Int32, forKey k: Key) throws { try key(k); writer.write(signed: Int64(value)) }
    mutating func encode(_ value: Int64, forKey k: Key) throws { try key(k); writer.write(signed: value) }
    mutating func encode(_ value: UInt, forKey k: Key) throws { try key(k); writer.write(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt8, forKey k: Key) throws { try key(k); writer.write(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt16, forKey k: Key) throws { try key(k); writer.write(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt32, forKey k: Key) throws { try key(k); writer.write(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt64, forKey k: Key) throws { try key(k); writer.write(unsigned: value) }

    mutating func encode<T: Encodable>(_ value: T, forKey k: Key) throws {
        try key(k)
        try writer.encodeValue(value, codingPath: codingPath + [k])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey k: Key) -> KeyedEncodingContainer<NestedKey> {
        // A failure here surfaces at the next write into this container.
        try? key(k)
        return KeyedEncodingContainer(PackedKeyedEncoding<NestedKey>(writer: writer, id: writer.openContainer(.map), codingPath: codingPath + [k]))
    }

    mutating func nestedUnkeyedContainer(forKey k: Key) -> any UnkeyedEncodingContainer {
        try? key(k)
        return PackedUnkeyedEncoding(writer: writer, id: writer.openContainer(.list), codingPath: codingPath + [k])
    }

    mutating func superEncoder() -> any Encoder { superEncoder(forKey: Key(stringValue: "super")!) }

    mutating func superEncoder(forKey k: Key) -> any Encoder {
        try? key(k)
        return PackedEncoding(writer: writer, codingPath: codingPath + [k])
    }
}

struct PackedUnkeyedEncoding: UnkeyedEncodingContainer {
    let writer: PackedWriter
    let id: Int
    let codingPath: [any CodingKey]
    private(set) var count = 0

    init(writer: PackedWriter, id: Int, codingPath: [any CodingKey]) {
        self.writer = writer
        self.id = id
        self.codingPath = codingPath
    }

    private mutating func item() throws {
        try writer.beginItem(of: id, codingPath: codingPath)
        count += 1
    }

    mutating func encodeNil() throws { try item(); writer.writeNil() }
    mutating func encode(_ value: Bool) throws { try item(); writer.write(value) }
    mutating func encode(_ value: String) throws { try item(); writer.write(value) }
    mutating func encode(_ value: Double) throws { try item(); writer.write(value) }
    mutating func encode(_ value: Float) throws { try item(); writer.write(value) }
    mutating func encode(_ value: Int) throws { try item(); writer.write(signed: Int64(value)) }
    mutating func encode(_ value: Int8) throws { try item(); writer.write(signed: Int64(value)) }
    mutating func encode(_ value: Int16) throws { try item(); writer.write(signed: Int64(value)) }
    mutating func encode(_ value: Int32) throws { try item(); writer.write(signed: Int64(value)) }
    mutating func encode(_ value: Int64) throws { try item(); writer.write(signed: value) }
    mutating func encode(_ value: UInt) throws { try item(); writer.write(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { try item(); writer.write(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt16) throws { try item(); writer.write(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt32) throws { try item(); writer.write(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt64) throws { try item(); writer.write(unsigned: value) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try item()
        try writer.encodeValue(value, codingPath: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        try? item()
        return KeyedEncodingContainer(PackedKeyedEncoding<NestedKey>(writer: writer, id: writer.openContainer(.map), codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        try? item()
        return PackedUnkeyedEncoding(writer: writer, id: writer.openContainer(.list), codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder {
        try? item()
        return PackedEncoding(writer: writer, codingPath: codingPath)
    }
}

struct PackedSingleValueEncoding: SingleValueEncodingContainer {
    let writer: PackedWriter
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { writer.writeNil() }
    mutating func encode(_ value: Bool) throws { writer.write(value) }
    mutating func encode(_ value: String) throws { writer.write(value) }
    mutating func encode(_ value: Double) throws { writer.write(value) }
    mutating func encode(_ value: Float) throws { writer.write(value) }
    mutating func encode(_ value: Int) throws { writer.write(signed: Int64(value)) }
    mutating func encode(_ value: Int8) throws { writer.write(signed: Int64(value)) }
    mutating func encode(_ value: Int16) throws { writer.write(signed: Int64(value)) }
    mutating func encode(_ value: Int32) throws { writer.write(signed: Int64(value)) }
    mutating func encode(_ value: Int64) throws { writer.write(signed: value) }
    mutating func encode(_ value: UInt) throws { writer.write(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { writer.write(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt16) throws { writer.write(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt32) throws { writer.write(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt64) throws { writer.write(unsigned: value) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try writer.encodeValue(value, codingPath: codingPath)
    }
}
