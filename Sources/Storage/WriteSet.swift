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
struct WriteSet: Sendable {
    enum Operation: Sendable {
        case put(ColumnFamily, key: [UInt8], value: [UInt8])
        case delete(ColumnFamily, key: [UInt8])
        /// Deletes keys in `start..<end`.
        case deleteRange(ColumnFamily, start: [UInt8], end: [UInt8])
    }

    var operations: [Operation] = []

    var isEmpty: Bool { operations.isEmpty }

    mutating func put(_ family: ColumnFamily, _ key: [UInt8], _ value: [UInt8]) {
        operations.append(.put(family, key: key, value: value))
    }

    mutating func delete(_ family: ColumnFamily, _ key: [UInt8]) {
        operations.append(.delete(family, key: key))
    }

    mutating func deleteRange(_ family: ColumnFamily, from start: [UInt8], to end: [UInt8]) {
        operations.append(.deleteRange(family, start: start, end: end))
    }
}
