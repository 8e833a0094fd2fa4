/// A key and its value, as returned by `KeyValueStore.scan(prefix:limit:)`.
public struct KeyValuePair: Sendable, Hashable {
    public var key: [UInt8]
    public var value: [UInt8]

    public init(key: [UInt8], value: [UInt8]) {
        self.key = key
        self.value = value
    }
}

/// Puts and deletes applied together: all of them or none.
public struct KeyValueBatch: Sendable, Hashable {
    public enum Operation: Sendable, Hashable {
        case put(key: [UInt8], value: [UInt8])
        case delete(key: [UInt8])
    }

    /// In the order given; a later operation on a key wins.
    public private(set) var operations: [Operation] = []

    /// An empty batch.
    public init() {}

    /// Adds: store `value` under `key`.
    public mutating func put(_ key: [UInt8], _ value: [UInt8]) {
        operations.append(.put(key: key, value: value))
    }

    /// Adds: remove `key` (missing keys are not an error).
    public mutating func delete(_ key: [UInt8]) {
        operations.append(.delete(key: key))
    }

    public var isEmpty: Bool { operations.isEmpty }
}

/// A small ordered key-value store for node-local state (a client's
/// allocations, its identity). Keys are ordered by their bytes, unsigned,
/// shortest first on a common prefix. Safe to use from several threads.
///
/// Writes are durable when they return (on a store opened with `syncWrites`);
/// concurrent writers share one sync (group commit).
public protocol KeyValueStore: AnyObject, Sendable {
    /// The value stored under `key`, or nil. Throws `corrupted` if the value
    /// fails its checksum; never returns wrong bytes.
    func get(_ key: [UInt8]) throws(StorageError) -> [UInt8]?

    /// The pairs whose key starts with `prefix`, in key order, at most `limit` of them.
    func scan(prefix: [UInt8], limit: Int) throws(StorageError) -> [KeyValuePair]

    /// Applies every operation of `batch` atomically.
    func write(_ batch: KeyValueBatch) throws(StorageError)
}

extension KeyValueStore {
    /// Stores `value` under `key`, replacing any previous value.
    public func put(_ key: [UInt8], _ value: [UInt8]) throws(StorageError) {
        var batch = KeyValueBatch()
        batch.put(key, value)
        try write(batch)
    }

    /// Removes `key`; removing a missing key is not an error.
    public func delete(_ key: [UInt8]) throws(StorageError) {
        var batch = KeyValueBatch()
        batch.delete(key)
        try write(batch)
    }

    /// Every pair whose key starts with `prefix`, in key order.
    public func scan(prefix: [UInt8]) throws(StorageError) -> [KeyValuePair] {
        try scan(prefix: prefix, limit: .max)
    }
}
