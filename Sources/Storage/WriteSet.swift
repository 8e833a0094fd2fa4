/// The column families of a Caravan database (RocksDB's "default" family is unused).
enum ColumnFamily: Int, CaseIterable, Sendable {
    /// Raft log entries, keyed by big-endian index.
    case log = 1
    /// Hard state, the compacted prefix, the snapshot record.
    case meta = 2
    /// The node-local key-value store.
    case kv = 3

    var name: String {
        switch self {
        case .log: "log"
        case .meta: "meta"
        case .kv: "kv"
        }
    }
}

/// Writes to apply atomically, in order: becomes one RocksDB WriteBatch.
/// Several of them merge into one batch under group commit.
///
/// The operations are packed back to back in one byte buffer (kind, family,
/// key length, key, value length, value), so that appending a thousand log
/// entries costs one growing buffer rather than two arrays per entry, and
/// merging sets is one copy. Records are written straight into it with
/// ``put(_:key:valueCapacity:_:)``.
struct WriteSet: Sendable {
    /// One operation, its bytes borrowed from the set while visited.
    enum Operation {
        case put(ColumnFamily, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)
        case delete(ColumnFamily, key: UnsafeRawBufferPointer)
        /// Deletes keys in `start..<end`.
        case deleteRange(ColumnFamily, start: UnsafeRawBufferPointer, end: UnsafeRawBufferPointer)
    }

    private enum Kind: UInt8 {
        case put = 1, delete, deleteRange
    }

    private var buffer: [UInt8] = []
    /// The number of operations.
    private(set) var count = 0

    init(capacity: Int = 0) {
        buffer.reserveCapacity(capacity)
    }

    var isEmpty: Bool { count == 0 }

    /// The bytes held, for reserving room when merging.
    var byteCount: Int { buffer.count }

    mutating func put(_ family: ColumnFamily, _ key: [UInt8], _ value: [UInt8]) {
        header(.put, family)
        field(key)
        field(value)
    }

    /// A put whose value `encode` appends to the writer it is given (which
    /// already holds this set's earlier bytes: write only after them).
    /// `valueCapacity` is a hint for the value's size.
    mutating func put(_ family: ColumnFamily, key: UInt64, valueCapacity: Int, _ encode: (inout ByteWriter) -> Void) {
        // Grow geometrically: reserving just this much on every put would
        // reallocate (and copy) the buffer each time.
        let needed = buffer.count + 18 + valueCapacity
        if needed > buffer.capacity { buffer.reserveCapacity(max(needed, 2 * buffer.capacity)) }
        header(.put, family)
        length(8)
        withUnsafeBytes(of: key.bigEndian) { buffer.append(contentsOf: $0) }
        let lengthAt = buffer.count
        length(0)
        // The buffer moves into the writer and back, never shared: a second
        // reference while either side writes would copy the whole buffer.
        var writer = ByteWriter(taking: buffer, recordStart: buffer.count)
        buffer = []
        encode(&writer)
        let valueCount = UInt32(writer.bytes.count - lengthAt - 4).littleEndian
        withUnsafeBytes(of: valueCount) { bytes in
            for i in 0..<4 { writer.bytes[lengthAt + i] = bytes[i] }
        }
        buffer = writer.takeBytes()
    }

    mutating func delete(_ family: ColumnFamily, _ key: [UInt8]) {
        header(.delete, family)
        field(key)
    }

    mutating func deleteRange(_ family: ColumnFamily, from start: [UInt8], to end: [UInt8]) {
        header(.deleteRange, family)
        field(start)
        field(end)
    }

    /// Appends the operations of `other` after these.
    mutating func append(contentsOf other: WriteSet) {
        buffer.append(contentsOf: other.buffer)
        count += other.count
    }

    /// Visits the operations in order; their bytes are valid only during `visit`.
    func forEach(_ visit: (Operation) -> Void) {
        buffer.withUnsafeBytes { bytes in
            var offset = 0
            func take() -> UnsafeRawBufferPointer {
                let count = Int(bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian)
                defer { offset += 4 + count }
                return UnsafeRawBufferPointer(rebasing: bytes[(offset + 4)..<(offset + 4 + count)])
            }
            while offset < bytes.count {
                let kind = Kind(rawValue: bytes[offset])!
                let family = ColumnFamily(rawValue: Int(bytes[offset + 1]))!
                offset += 2
                switch kind {
                case .put:
                    let key = take()
                    visit(.put(family, key: key, value: take()))
                case .delete:
                    visit(.delete(family, key: take()))
                case .deleteRange:
                    let start = take()
                    visit(.deleteRange(family, start: start, end: take()))
                }
            }
        }
    }

    private mutating func header(_ kind: Kind, _ family: ColumnFamily) {
        buffer.append(kind.rawValue)
        buffer.append(UInt8(family.rawValue))
        count += 1
    }

    private mutating func length(_ value: Int) {
        withUnsafeBytes(of: UInt32(value).littleEndian) { buffer.append(contentsOf: $0) }
    }

    private mutating func field(_ bytes: [UInt8]) {
        length(bytes.count)
        buffer.append(contentsOf: bytes)
    }
}
