import RaftCore
import Synchronization

/// The Raft log, hard state and snapshots of a `RocksDBStore`.
///
/// Entries live in the `log` column family under their big-endian index, each
/// in a compact binary record with a CRC-32C; hard state, the compacted prefix
/// and the snapshot record live in `meta`; snapshot data in checksummed files.
/// `persist` writes a Ready's snapshot, entries and hard state in one synced
/// WriteBatch. Reads may run on any thread; writes to the log are serialized
/// (they still share syncs with concurrent KV writes through group commit).
public final class RocksDBRaftStorage: RaftPersistence, Sendable {
    /// What the store knows of its log without reading it.
    struct LogState: Sendable {
        /// The last discarded entry (or the applied snapshot's index) and its term.
        var truncatedIndex: UInt64
        var truncatedTerm: UInt64
        var lastIndex: UInt64
        var lastTerm: UInt64
        var hardState: HardState
        var snapshot: SnapshotRecord
    }

    private static let hardStateKey = Array("hardstate".utf8)
    private static let truncationKey = Array("truncated".utf8)
    private static let snapshotKey = Array("snapshot".utf8)

    /// The log's state and its latest entries, changed together.
    struct Guarded: Sendable {
        var log: LogState
        /// Read under the lock, never copied out: so a write appends in place.
        var recent: RecentEntries
    }

    private let core: StoreCore
    /// The durable state; changed only after the write that makes it true.
    private let state: Mutex<Guarded>
    /// Serializes writers of this log.
    private let writer = Mutex<Void>(())

    init(core: StoreCore, initialConfState: ConfState) throws(StorageError) {
        self.core = core
        state = Mutex(Guarded(log: try Self.load(core: core, initialConfState: initialConfState), recent: RecentEntries()))
        core.snapshots.removeAll(except: state.withLock { $0.log.snapshot.fileName })
    }

    /// Reads the meta records and the ends of the log, and checks that they agree.
    private static func load(core: StoreCore, initialConfState: ConfState) throws(StorageError) -> LogState {
        let database = core.database
        let snapshot: SnapshotRecord
        let truncation: (index: UInt64, term: UInt64)
        var hardState = HardState()
        do {
            if let bytes = try database.get(.meta, snapshotKey) {
                snapshot = try SnapshotRecord(decoding: bytes)
                guard let bytes = try database.get(.meta, truncationKey) else {
                    throw DecodingFailure(reason: "the log truncation record is missing")
                }
                truncation = try RecordCoding.decodeTruncation(bytes)
            } else {
                // A new store: record the initial membership.
                guard try database.boundaryKeys(.log) == nil else {
                    throw DecodingFailure(reason: "log entries exist but the snapshot record is missing")
                }
                snapshot = .initial(initialConfState)
                truncation = (0, 0)
                var writes = WriteSet()
                writes.put(.meta, snapshotKey, snapshot.encoded())
                writes.put(.meta, truncationKey, RecordCoding.encodeTruncation(index: 0, term: 0))
                try core.committer.commit(writes)
            }
            if let bytes = try database.get(.meta, hardStateKey) {
                hardState = try RecordCoding.decodeHardState(bytes)
            }
        } catch let failure as DecodingFailure {
            throw core.corrupted(failure, "meta records")
        } catch let error as StorageError {
            throw error
        } catch {
            throw .io(path: database.path, operation: "open", detail: "\(error)")
        }

        var loaded = LogState(
            truncatedIndex: truncation.index, truncatedTerm: truncation.term,
            lastIndex: truncation.index, lastTerm: truncation.term,
            hardState: hardState, snapshot: snapshot
        )
        do {
            if let keys = try database.boundaryKeys(.log) {
                let first = try RecordCoding.index(fromLogKey: keys.first)
                let last = try RecordCoding.index(fromLogKey: keys.last)
                guard first == truncation.index + 1 else {
                    throw DecodingFailure(reason: "the log starts at \(first) but its compacted prefix ends at \(truncation.index)")
                }
                guard let bytes = try database.get(.log, keys.last) else {
                    throw DecodingFailure(reason: "the last entry \(last) vanished")
                }
                loaded.lastIndex = last
                loaded.lastTerm = try RecordCoding.decodeEntry(bytes, expectedIndex: last).term
            }
            guard snapshot.metadata.index >= truncation.index else {
                throw DecodingFailure(reason: "the log is compacted through \(truncation.index), beyond the snapshot at \(snapshot.metadata.index)")
            }
            guard hardState.commit <= loaded.lastIndex else {
                throw DecodingFailure(reason: "the hard state commits index \(hardState.commit) but the log ends at \(loaded.lastIndex): committed entries are lost")
            }
        } catch let failure as DecodingFailure {
            throw core.corrupted(failure, "log")
        } catch let error as StorageError {
            throw error
        } catch {
            throw .io(path: database.path, operation: "open", detail: "\(error)")
        }
        // Verify the snapshot file now, so a damaged one is reported at start-up.
        _ = try core.snapshots.read(snapshot)
        return loaded
    }

    // MARK: RaftStorage

    public func initialState() throws(RaftStorageError) -> (HardState, ConfState) {
        state.withLock { ($0.log.hardState, $0.log.snapshot.metadata.confState) }
    }

    public func entries(from lo: UInt64, to hi: UInt64, maxBytes: UInt64) throws(RaftStorageError) -> [Entry] {
        let (current, kept) = state.withLock { ($0.log, $0.recent.entries(from: lo, to: hi, maxBytes: maxBytes)) }
        guard lo > current.truncatedIndex else { throw .compacted }
        guard hi <= current.lastIndex + 1 else { throw .unavailable }
        if lo >= hi { return [] }
        if let kept { return kept }
        var found: [Entry] = []
        var total: UInt64 = 0
        var limited = false
        do throws(StorageError) {
            try core.database.scan(.log, from: RecordCoding.logKey(lo), to: RecordCoding.logKey(hi)) { key, value throws(StorageError) in
                let expected = lo + UInt64(found.count)
                guard key == RecordCoding.logKey(expected) else { return false }
                let entry: Entry
                do throws(DecodingFailure) {
                    entry = try RecordCoding.decodeEntry(value, expectedIndex: expected)
                } catch {
                    throw core.corrupted(error, "log entry \(expected)")
                }
                total &+= entry.byteSize
                if total > maxBytes && !found.isEmpty {
                    limited = true
                    return false
                }
                found.append(entry)
                return true
            }
        } catch {
            throw error.raftStorageError
        }
        if !limited && lo + UInt64(found.count) < hi {
            throw missingEntry(lo + UInt64(found.count))
        }
        return found
    }

    public func term(at index: UInt64) throws(RaftStorageError) -> UInt64 {
        let (current, kept) = state.withLock { ($0.log, $0.recent.term(at: index)) }
        if index == current.truncatedIndex { return current.truncatedTerm }
        guard index > current.truncatedIndex else { throw .compacted }
        guard index <= current.lastIndex else { throw .unavailable }
        if index == current.lastIndex { return current.lastTerm }
        if let kept { return kept }
        do throws(StorageError) {
            return try storedTerm(at: index)
        } catch {
            throw error.raftStorageError
        }
    }

    public func firstIndex() throws(RaftStorageError) -> UInt64 {
        state.withLock { $0.log.truncatedIndex + 1 }
    }

    public func lastIndex() throws(RaftStorageError) -> UInt64 {
        state.withLock { $0.log.lastIndex }
    }

    /// The latest snapshot, read from its file and verified against its checksum.
    public func snapshot() throws(RaftStorageError) -> Snapshot {
        let record = state.withLock { $0.log.snapshot }
        do throws(StorageError) {
            return try core.snapshots.read(record)
        } catch {
            throw error.raftStorageError
        }
    }

    // MARK: Writes

    public var hardState: HardState {
        state.withLock { $0.log.hardState }
    }

    public func persist(entries: [Entry], hardState: HardState?, snapshot: Snapshot?) throws(StorageError) {
        try validateConsecutive(entries)
        try writer.withLock { _ throws(StorageError) in
            var next = state.withLock { $0.log }
            var writes = WriteSet(capacity: entries.reduce(64) { $0 + RecordCoding.encodedSize($1) + 20 })
            var newFile: String?
            var replacedFile: String?

            var finalHardState = hardState ?? next.hardState
            if let snapshot, !snapshot.isEmpty {
                let current = next.snapshot.metadata.index
                guard snapshot.metadata.index > current else {
                    throw .staleSnapshot(index: snapshot.metadata.index, current: current)
                }
                try checkAppend(entries, afterSnapshot: snapshot.metadata.index)
                let record = try core.snapshots.write(snapshot)
                newFile = record.fileName
                replacedFile = next.snapshot.fileName
                writes.deleteRange(.log, from: [], to: [UInt8](repeating: 0xff, count: 9))
                writes.put(.meta, Self.snapshotKey, record.encoded())
                writes.put(.meta, Self.truncationKey, RecordCoding.encodeTruncation(index: snapshot.metadata.index, term: snapshot.metadata.term))
                next.snapshot = record
                next.truncatedIndex = snapshot.metadata.index
                next.truncatedTerm = snapshot.metadata.term
                next.lastIndex = snapshot.metadata.index
                next.lastTerm = snapshot.metadata.term
                finalHardState.commit = max(finalHardState.commit, snapshot.metadata.index)
            }

            // Entries already covered by the compacted prefix are skipped.
            let fresh = entries.drop(while: { $0.index <= next.truncatedIndex })
            if let first = fresh.first, let last = fresh.last {
                guard first.index <= next.lastIndex + 1 else {
                    if let newFile { Posix.removeQuietly(core.snapshots.path(of: newFile)) }
                    throw .logGap(lastIndex: next.lastIndex, appendedFrom: first.index)
                }
                if last.index < next.lastIndex {
                    writes.deleteRange(.log, from: RecordCoding.logKey(last.index + 1), to: RecordCoding.logKey(next.lastIndex + 1))
                }
                for entry in fresh {
                    writes.put(.log, key: entry.index, valueCapacity: RecordCoding.encodedSize(entry)) { writer in
                        RecordCoding.encode(entry, into: &writer)
                    }
                }
                next.lastIndex = last.index
                next.lastTerm = last.term
            }

            // As etcd's MustSync: entries, a snapshot, or a new term or vote
            // must be durable before Raft acts on them; a commit index alone
            // need not (after a crash the leader tells it again).
            let mustSync = newFile != nil || !fresh.isEmpty
                || finalHardState.term != next.hardState.term || finalHardState.vote != next.hardState.vote
            if finalHardState != next.hardState {
                writes.put(.meta, Self.hardStateKey, RecordCoding.encode(finalHardState))
                next.hardState = finalHardState
            }
            guard !writes.isEmpty else { return }
            do throws(StorageError) {
                try core.committer.commit(writes, mustSync: mustSync)
            } catch {
                if let newFile, newFile != replacedFile { Posix.removeQuietly(core.snapshots.path(of: newFile)) }
                throw error
            }
            let committed = next
            state.withLock { guarded in
                guarded.log = committed
                if newFile != nil { guarded.recent.removeAll() }
                guarded.recent.write(fresh)
            }
            if let replacedFile, replacedFile != newFile { Posix.removeQuietly(core.snapshots.path(of: replacedFile)) }
        }
    }

    @discardableResult
    public func createSnapshot(index: UInt64, confState: ConfState, data: [UInt8]) throws(StorageError) -> Snapshot {
        try writer.withLock { _ throws(StorageError) -> Snapshot in
            var next = state.withLock { $0.log }
            let current = next.snapshot.metadata.index
            guard index > current else { throw .staleSnapshot(index: index, current: current) }
            guard index >= next.truncatedIndex else { throw .compacted(index: index, firstIndex: next.truncatedIndex + 1) }
            guard index <= next.lastIndex else { throw .unavailable(index: index, lastIndex: next.lastIndex) }
            let term = try knownTerm(at: index, in: next)
            let snapshot = Snapshot(metadata: SnapshotMetadata(index: index, term: term, confState: confState), data: data)
            let record = try core.snapshots.write(snapshot)
            var writes = WriteSet()
            writes.put(.meta, Self.snapshotKey, record.encoded())
            do throws(StorageError) {
                try core.committer.commit(writes)
            } catch {
                if record.fileName != next.snapshot.fileName, let name = record.fileName {
                    Posix.removeQuietly(core.snapshots.path(of: name))
                }
                throw error
            }
            let replaced = next.snapshot.fileName
            next.snapshot = record
            let committed = next
            state.withLock { $0.log = committed }
            if let replaced, replaced != record.fileName { Posix.removeQuietly(core.snapshots.path(of: replaced)) }
            return snapshot
        }
    }

    public func compact(through index: UInt64) throws(StorageError) {
        try writer.withLock { _ throws(StorageError) in
            var next = state.withLock { $0.log }
            guard index > next.truncatedIndex else { throw .compacted(index: index, firstIndex: next.truncatedIndex + 1) }
            guard index <= next.lastIndex else { throw .unavailable(index: index, lastIndex: next.lastIndex) }
            guard index <= next.snapshot.metadata.index else {
                throw .compactBeyondSnapshot(index: index, snapshotIndex: next.snapshot.metadata.index)
            }
            let term = try knownTerm(at: index, in: next)
            var writes = WriteSet()
            writes.deleteRange(.log, from: RecordCoding.logKey(next.truncatedIndex + 1), to: RecordCoding.logKey(index + 1))
            writes.put(.meta, Self.truncationKey, RecordCoding.encodeTruncation(index: index, term: term))
            try core.committer.commit(writes)
            next.truncatedIndex = index
            next.truncatedTerm = term
            let committed = next
            state.withLock { guarded in
                guarded.log = committed
                guarded.recent.drop(through: index)
            }
        }
    }

    // MARK: Helpers

    /// Before a snapshot is written: the entries that follow it must not leave a gap.
    private func checkAppend(_ entries: [Entry], afterSnapshot index: UInt64) throws(StorageError) {
        guard let first = entries.first?.index, let last = entries.last?.index, last > index else { return }
        guard first <= index + 1 else { throw .logGap(lastIndex: index, appendedFrom: first) }
    }

    private func knownTerm(at index: UInt64, in current: LogState) throws(StorageError) -> UInt64 {
        if index == current.truncatedIndex { return current.truncatedTerm }
        if index == current.lastIndex { return current.lastTerm }
        return try storedTerm(at: index)
    }

    private func storedTerm(at index: UInt64) throws(StorageError) -> UInt64 {
        guard let bytes = try core.database.get(.log, RecordCoding.logKey(index)) else {
            throw storageErrorForMissing(index)
        }
        do throws(DecodingFailure) {
            return try RecordCoding.decodeEntry(bytes, expectedIndex: index).term
        } catch {
            throw core.corrupted(error, "log entry \(index)")
        }
    }

    /// An entry the state says is held was not found: a concurrent write moved
    /// the log (compacted or truncated), or it is lost.
    private func storageErrorForMissing(_ index: UInt64) -> StorageError {
        let current = state.withLock { $0.log }
        if index <= current.truncatedIndex { return .compacted(index: index, firstIndex: current.truncatedIndex + 1) }
        if index > current.lastIndex { return .unavailable(index: index, lastIndex: current.lastIndex) }
        return .corrupted(path: core.database.path, detail: "log entry \(index) is missing from a log that holds \(current.truncatedIndex + 1)...\(current.lastIndex)")
    }

    private func missingEntry(_ index: UInt64) -> RaftStorageError {
        storageErrorForMissing(index).raftStorageError
    }
}
