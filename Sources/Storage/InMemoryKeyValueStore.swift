import RaftCore
import Synchronization

/// The in-memory twin of `RocksDBKeyValueStore`: a sorted array behind a lock.
public final class InMemoryKeyValueStore: KeyValueStore {
    /// Sorted by key, without duplicates.
    private let pairs = Mutex<[KeyValuePair]>([])

    public init() {}

    public func get(_ key: [UInt8]) throws(StorageError) -> [UInt8]? {
        pairs.withLock { pairs in
            let position = Self.position(of: key, in: pairs)
            return position < pairs.count && pairs[position].key == key ? pairs[position].value : nil
        }
    }

    public func scan(prefix: [UInt8], limit: Int) throws(StorageError) -> [KeyValuePair] {
        pairs.withLock { pairs in
            var found: [KeyValuePair] = []
            var position = Self.position(of: prefix, in: pairs)
            while position < pairs.count, found.count < limit, pairs[position].key.starts(with: prefix) {
                found.append(pairs[position])
                position += 1
            }
            return found
        }
    }

    public func write(_ batch: KeyValueBatch) throws(StorageError) {
        pairs.withLock { pairs in
            for operation in batch.operations {
                switch operation {
                case let .put(key, value):
                    let position = Self.position(of: key, in: pairs)
                    if position < pairs.count && pairs[position].key == key {
                        pairs[position].value = value
                    } else {
                        pairs.insert(KeyValuePair(key: key, value: value), at: position)
                    }
                case let .delete(key):
                    let position = Self.position(of: key, in: pairs)
                    if position < pairs.count && pairs[position].key == key { pairs.remove(at: position) }
                }
            }
        }
    }

    /// The first position whose key is not less than `key`.
    private static func position(of key: [UInt8], in pairs: [KeyValuePair]) -> Int {
        var low = 0, high = pairs.count
        while low < high {
            let middle = (low + high) / 2
            if pairs[middle].key.lexicographicallyPrecedes(key) { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

/// The in-memory backend: a Raft log and a key-value store that live as long
/// as this value. Use it for tests, simulations and dev mode without a data directory.
public struct InMemoryStore: Sendable {
    public let raft: InMemoryRaftStorage
    public let keyValues: InMemoryKeyValueStore

    /// A fresh store whose Raft group starts with membership `confState`.
    public init(confState: ConfState = ConfState()) {
        raft = InMemoryRaftStorage(confState: confState)
        keyValues = InMemoryKeyValueStore()
    }
}
