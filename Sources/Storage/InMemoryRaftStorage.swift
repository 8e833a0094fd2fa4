import RaftCore
import Synchronization

/// The in-memory twin of `RocksDBRaftStorage`: RaftCore's `MemoryStorage`
/// behind a lock, with the same checks and the same answers as the durable
/// backend. Nothing survives the process.
public final class InMemoryRaftStorage: RaftPersistence, Sendable {
    private let storage: Mutex<MemoryStorage>

    /// An empty log whose initial membership is `confState`.
    public init(confState: ConfState = ConfState()) {
        storage = Mutex(MemoryStorage(confState: confState))
    }

    // MARK: RaftStorage

    public func initialState() throws(RaftStorageError) -> (HardState, ConfState) {
        try storage.withLock { storage throws(RaftStorageError) in try storage.initialState() }
    }

    public func entries(from lo: UInt64, to hi: UInt64, maxBytes: UInt64) throws(RaftStorageError) -> [Entry] {
        try storage.withLock { storage throws(RaftStorageError) in
            try storage.entries(from: lo, to: hi, maxBytes: maxBytes)
        }
    }

    public func term(at index: UInt64) throws(RaftStorageError) -> UInt64 {
        try storage.withLock { storage throws(RaftStorageError) in try storage.term(at: index) }
    }

    public func firstIndex() throws(RaftStorageError) -> UInt64 {
        try storage.withLock { storage throws(RaftStorageError) in try storage.firstIndex() }
    }

    public func lastIndex() throws(RaftStorageError) -> UInt64 {
        try storage.withLock { storage throws(RaftStorageError) in try storage.lastIndex() }
    }

    public func snapshot() throws(RaftStorageError) -> Snapshot {
        try storage.withLock { storage throws(RaftStorageError) in try storage.snapshot() }
    }

    // MARK: Writes

    public var hardState: HardState {
        storage.withLock { $0.hardState }
    }

    public func persist(entries: [Entry], hardState: HardState?, snapshot: Snapshot?) throws(StorageError) {
        try validateConsecutive(entries)
        try storage.withLock { storage throws(StorageError) in
            // Check everything before changing anything, so a failure applies nothing.
            let current = try Self.read { () throws(RaftStorageError) in try storage.snapshot().metadata.index }
            var lastIndex = try Self.read { () throws(RaftStorageError) in try storage.lastIndex() }
            var compactedThrough = try Self.read { () throws(RaftStorageError) in try storage.firstIndex() } - 1
            let applied = snapshot.flatMap { $0.isEmpty ? nil : $0 }
            if let applied {
                guard applied.metadata.index > current else {
                    throw .staleSnapshot(index: applied.metadata.index, current: current)
                }
                lastIndex = applied.metadata.index
                compactedThrough = applied.metadata.index
            }
            if let first = entries.first?.index, let last = entries.last?.index, last > compactedThrough,
               first > lastIndex + 1 {
                throw .logGap(lastIndex: lastIndex, appendedFrom: first)
            }

            var final = hardState ?? storage.hardState
            if let applied {
                storage.applySnapshot(applied)
                final.commit = max(final.commit, applied.metadata.index)
            }
            storage.append(entries)
            if final != storage.hardState { storage.setHardState(final) }
        }
    }

    @discardableResult
    public func createSnapshot(index: UInt64, confState: ConfState, data: [UInt8]) throws(StorageError) -> Snapshot {
        try storage.withLock { storage throws(StorageError) in
            let current = try Self.read { () throws(RaftStorageError) in try storage.snapshot().metadata.index }
            guard index > current else { throw .staleSnapshot(index: index, current: current) }
            try Self.checkHeld(index, in: storage)
            return try Self.read { () throws(RaftStorageError) in
                try storage.createSnapshot(index: index, confState: confState, data: data)
            }
        }
    }

    public func compact(through index: UInt64) throws(StorageError) {
        try storage.withLock { storage throws(StorageError) in
            let first = try Self.read { () throws(RaftStorageError) in try storage.firstIndex() }
            guard index >= first else { throw .compacted(index: index, firstIndex: first) }
            try Self.checkHeld(index, in: storage)
            let covered = try Self.read { () throws(RaftStorageError) in try storage.snapshot().metadata.index }
            guard index <= covered else { throw .compactBeyondSnapshot(index: index, snapshotIndex: covered) }
            try Self.read { () throws(RaftStorageError) in try storage.compact(through: index) }
        }
    }

    // MARK: Helpers

    /// Throws `compacted` or `unavailable` unless `index` is `firstIndex() - 1 ... lastIndex()`.
    private static func checkHeld(_ index: UInt64, in storage: MemoryStorage) throws(StorageError) {
        let first = try read { () throws(RaftStorageError) in try storage.firstIndex() }
        let last = try read { () throws(RaftStorageError) in try storage.lastIndex() }
        guard index + 1 >= first else { throw .compacted(index: index, firstIndex: first) }
        guard index <= last else { throw .unavailable(index: index, lastIndex: last) }
    }

    /// Runs a `MemoryStorage` read, translating its error. Those reads only
    /// fail on indices checked beforehand, so the translation is a formality.
    private static func read<T>(_ body: () throws(RaftStorageError) -> T) throws(StorageError) -> T {
        do {
            return try body()
        } catch .compacted {
            throw .compacted(index: 0, firstIndex: 0)
        } catch .unavailable {
            throw .unavailable(index: 0, lastIndex: 0)
        } catch {
            throw .io(path: "memory", operation: "read", detail: "\(error)")
        }
    }
}
