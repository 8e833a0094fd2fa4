/// Why a storage read could not answer.
public enum RaftStorageError: Error, Sendable, Hashable {
    /// The requested index lies at or below the compacted prefix.
    case compacted
    /// The requested index lies beyond the last entry.
    case unavailable
    /// The snapshot is being produced; ask again later.
    case snapshotTemporarilyUnavailable
    /// The backend failed (I/O error, corruption); the text says which and what to do.
    case backend(String)
}

/// The read side of a replica's durable log, as RaftCore sees it.
///
/// The application writes to its storage when it handles a `Ready` (append
/// entries, set hard state, apply a snapshot) and compacts it after taking a
/// snapshot; RaftCore only reads. Indices are those of the Raft log: the
/// storage holds a snapshot at `firstIndex() - 1` and entries
/// `firstIndex()...lastIndex()`.
public protocol RaftStorage: AnyObject {
    /// The persisted hard state and the membership recorded by the latest
    /// snapshot (RaftCore replays membership changes in later entries itself).
    func initialState() throws(RaftStorageError) -> (HardState, ConfState)

    /// Entries in `lo..<hi`, stopping once their total `byteSize` would exceed
    /// `maxBytes`, though always returning at least one entry when any exist.
    func entries(from lo: UInt64, to hi: UInt64, maxBytes: UInt64) throws(RaftStorageError) -> [Entry]

    /// The term of the entry at `index`; valid for `firstIndex() - 1` too.
    func term(at index: UInt64) throws(RaftStorageError) -> UInt64

    /// The index of the first entry still held (one past the snapshot).
    func firstIndex() throws(RaftStorageError) -> UInt64

    /// The index of the last entry held (the snapshot index when none).
    func lastIndex() throws(RaftStorageError) -> UInt64

    /// The most recent snapshot.
    func snapshot() throws(RaftStorageError) -> Snapshot
}
