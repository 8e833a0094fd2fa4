/// A set kept as copy-on-write shards once it grows, for indexes that
/// readers copy while a writer keeps changing them (see ``ShardedDictionary``).
///
/// The servers' per-node allocation indexes are sets inside the replicated
/// state; a scheduler worker or a node watch holding a copy of the state
/// made every insert copy the whole set: at 10,000 allocations on one node,
/// every applied plan copied 10,000 ids. Here a change copies only its shard.
///
/// A small set is one shard: a node or a job with a few allocations costs
/// what a `Set` does. Past ``splitAt`` elements it splits into
/// ``shardCount`` shards, for good. Iteration order is unspecified.
public struct ShardedSet<Element: Hashable> {
    @inlinable static var shardCount: Int { 256 }
    /// The size at which a one-shard set splits.
    @inlinable static var splitAt: Int { 512 }

    /// One shard, or `shardCount` of them; a power of two either way.
    @usableFromInline var shards: [Set<Element>]
    @usableFromInline var storedCount: Int

    @inlinable
    public init() {
        shards = [[]]
        storedCount = 0
    }

    @inlinable
    public init(_ elements: some Sequence<Element>) {
        self.init()
        for element in elements { insert(element) }
    }

    @inlinable public var count: Int { storedCount }
    @inlinable public var isEmpty: Bool { storedCount == 0 }

    @inlinable func shard(of element: Element) -> Int {
        element.hashValue & (shards.count - 1)
    }

    @inlinable
    public func contains(_ element: Element) -> Bool {
        shards[shard(of: element)].contains(element)
    }

    /// Inserts `element`; whether it was not there before.
    @discardableResult
    @inlinable
    public mutating func insert(_ element: Element) -> (inserted: Bool, memberAfterInsert: Element) {
        let result = shards[shard(of: element)].insert(element)
        if result.inserted {
            storedCount += 1
            if shards.count == 1, storedCount > Self.splitAt { split() }
        }
        return result
    }

    /// Removes `element`; returns it if it was there.
    @discardableResult
    @inlinable
    public mutating func remove(_ element: Element) -> Element? {
        let removed = shards[shard(of: element)].remove(element)
        if removed != nil { storedCount -= 1 }
        return removed
    }

    @usableFromInline
    mutating func split() {
        let all = shards[0]
        shards = Array(repeating: [], count: Self.shardCount)
        for element in all { shards[shard(of: element)].insert(element) }
    }
}

extension ShardedSet: Sequence {
    @inlinable
    public func makeIterator() -> some IteratorProtocol<Element> {
        shards.lazy.flatMap { $0 }.makeIterator()
    }

    @inlinable
    public var underestimatedCount: Int { count }
}

extension ShardedSet: ExpressibleByArrayLiteral {
    @inlinable
    public init(arrayLiteral elements: Element...) {
        self.init(elements)
    }
}

extension ShardedSet: Sendable where Element: Sendable {}

extension ShardedSet: Equatable {
    @inlinable
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.count == rhs.count && lhs.allSatisfy(rhs.contains)
    }
}
