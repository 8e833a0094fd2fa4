/// A dictionary kept as 256 copy-on-write shards, for state that readers
/// copy while a writer keeps changing it.
///
/// A copy of a `Dictionary` is O(1) until either side changes it; then the
/// whole table is copied. The servers' state is read by taking such a copy
/// (the scheduler plans on one, every node watch and API read takes one), so
/// with plain dictionaries nearly every applied entry copied every
/// allocation and evaluation: at 10,000 jobs that was a third of the
/// leader's CPU. Here a change copies only its shard (about a 256th of the
/// entries) and the array of shards.
///
/// Iteration order is unspecified, as a `Dictionary`'s is.
public struct ShardedDictionary<Key: Hashable, Value> {
    @inlinable static var shardCount: Int { 256 }

    @usableFromInline var shards: [[Key: Value]]
    @usableFromInline var storedCount: Int
    @inlinable public var count: Int { storedCount }

    @inlinable
    public init() {
        shards = Array(repeating: [:], count: Self.shardCount)
        storedCount = 0
    }

    @inlinable
    public init(_ pairs: some Sequence<(Key, Value)>) {
        self.init()
        for (key, value) in pairs { self[key] = value }
    }

    @inlinable static func shard(of key: Key) -> Int {
        key.hashValue & (shardCount - 1)
    }

    @inlinable
    public var isEmpty: Bool { count == 0 }

    /// Room for `total` entries in all, spread evenly over the shards.
    @inlinable
    public mutating func reserveCapacity(_ total: Int) {
        let each = (total + Self.shardCount - 1) / Self.shardCount
        for i in shards.indices { shards[i].reserveCapacity(each) }
    }

    // Both subscripts change a value in place, in its shard, as a
    // `Dictionary`'s do: `d[k]?.insert(x)` or `d[k, default: []].insert(x)`
    // on a get-and-set subscript would copy the stored set on every insert.

    @inlinable
    public subscript(key: Key) -> Value? {
        get { shards[Self.shard(of: key)][key] }
        _modify {
            let shard = Self.shard(of: key)
            let had = shards[shard].index(forKey: key) != nil
            defer { storedCount += (shards[shard].index(forKey: key) != nil ? 1 : 0) - (had ? 1 : 0) }
            yield &shards[shard][key]
        }
    }

    @inlinable
    public subscript(key: Key, default defaultValue: @autoclosure () -> Value) -> Value {
        get { self[key] ?? defaultValue() }
        _modify {
            let shard = Self.shard(of: key)
            // The default is stored, changed or not, as a `Dictionary` does.
            if shards[shard].index(forKey: key) == nil { storedCount += 1 }
            yield &shards[shard][key, default: defaultValue()]
        }
    }

    /// Sets `value` for `key`; returns the value it replaced.
    @discardableResult
    @inlinable
    public mutating func updateValue(_ value: Value, forKey key: Key) -> Value? {
        let old = shards[Self.shard(of: key)].updateValue(value, forKey: key)
        if old == nil { storedCount += 1 }
        return old
    }

    /// Removes `key`; returns its value.
    @discardableResult
    @inlinable
    public mutating func removeValue(forKey key: Key) -> Value? {
        let old = shards[Self.shard(of: key)].removeValue(forKey: key)
        if old != nil { storedCount -= 1 }
        return old
    }

    @inlinable
    public var keys: some Collection<Key> { shards.lazy.flatMap(\.keys) }

    @inlinable
    public var values: some Collection<Value> { shards.lazy.flatMap(\.values) }
}

extension ShardedDictionary: Sequence {
    public typealias Element = (key: Key, value: Value)

    @inlinable
    public func makeIterator() -> some IteratorProtocol<Element> {
        shards.lazy.flatMap { $0.lazy.map { (key: $0.key, value: $0.value) } }.makeIterator()
    }

    @inlinable
    public var underestimatedCount: Int { count }
}

extension ShardedDictionary: ExpressibleByDictionaryLiteral {
    @inlinable
    public init(dictionaryLiteral elements: (Key, Value)...) {
        self.init(elements)
    }
}

extension ShardedDictionary: Sendable where Key: Sendable, Value: Sendable {}

extension ShardedDictionary: Equatable where Value: Equatable {
    @inlinable
    public static func == (lhs: Self, rhs: Self) -> Bool {
        // The same key always lands in the same shard within a process.
        lhs.count == rhs.count && lhs.shards == rhs.shards
    }
}
