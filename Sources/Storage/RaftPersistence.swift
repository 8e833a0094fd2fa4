import RaftCore

/// The Raft log's write side; reads come from RaftCore's `RaftStorage`.
///
/// Every write is durable when the call returns (on a store opened with
/// `syncWrites`), and either happens completely or not at all.
public protocol RaftLogStore: RaftStorage {
    /// Appends `entries` (consecutive indices), first removing every held
    /// entry from the first new index on: a conflicting suffix is replaced.
    /// Entries already covered by the compacted prefix are skipped.
    /// Throws `logGap` if the entries start beyond `lastIndex() + 1`.
    func append(_ entries: [Entry]) throws(StorageError)

    /// Discards entries up to and including `index`, keeping its term for
    /// `term(at:)`. `index` must be covered by the latest snapshot, so no
    /// information is lost (`compactBeyondSnapshot` otherwise).
    func compact(through index: UInt64) throws(StorageError)
}

/// The replica's hard state: term, vote and commit index.
public protocol HardStateStore: AnyObject {
    /// The hard state as last persisted.
    var hardState: HardState { get }

    /// Replaces the hard state durably (a change of the commit index alone
    /// without sync, as ``RaftPersistence/persist(entries:hardState:snapshot:)`` says).
    func setHardState(_ state: HardState) throws(StorageError)
}

/// Snapshots of the application's state. The latest one is read through
/// `RaftStorage.snapshot()`; the durable backend verifies its checksum on every read.
public protocol SnapshotStore: AnyObject {
    /// Records (durably) a snapshot of the application's state as of `index`,
    /// which must be held in the log and newer than the current snapshot.
    /// Does not compact the log; call `compact(through:)` for that.
    @discardableResult
    func createSnapshot(index: UInt64, confState: ConfState, data: [UInt8]) throws(StorageError) -> Snapshot

    /// Replaces the whole log with `snapshot` (a follower catching up), atomically.
    func applySnapshot(_ snapshot: Snapshot) throws(StorageError)
}

/// Everything a Raft driver needs from its storage: the log, hard state and
/// snapshots, with one call that persists a `Ready` atomically.
///
/// A driver writes from one thread while RaftCore reads from another, so an
/// implementation must be safe to use concurrently.
public protocol RaftPersistence: RaftLogStore, HardStateStore, SnapshotStore, Sendable {
    /// Persists what a `Ready` asks for in one atomic, synced write: first
    /// `snapshot` (replacing the log; ignored when empty), then `entries`
    /// (as `append`), then `hardState`. When a snapshot is applied, the
    /// commit index is raised to at least its index. When this returns, all of
    /// it is durable, except a change of the commit index alone, which is
    /// written without sync (as etcd's MustSync: a crash may lose it, and the
    /// leader tells it again); when it throws, none of it was applied.
    func persist(entries: [Entry], hardState: HardState?, snapshot: Snapshot?) throws(StorageError)
}

extension RaftPersistence {
    public func append(_ entries: [Entry]) throws(StorageError) {
        try persist(entries: entries, hardState: nil, snapshot: nil)
    }

    public func setHardState(_ state: HardState) throws(StorageError) {
        try persist(entries: [], hardState: state, snapshot: nil)
    }

    public func applySnapshot(_ snapshot: Snapshot) throws(StorageError) {
        try persist(entries: [], hardState: nil, snapshot: snapshot)
    }
}

/// Checks that `entries` have consecutive indices.
func validateConsecutive(_ entries: [Entry]) throws(StorageError) {
    guard var previous = entries.first?.index else { return }
    for entry in entries.dropFirst() {
        guard entry.index == previous &+ 1 else {
            throw .nonConsecutiveEntries(after: previous, found: entry.index)
        }
        previous = entry.index
    }
}

extension RaftPersistence {
    /// Whether nothing was ever written: no entries, no snapshot, no hard state.
    public var isPristine: Bool {
        (try? lastIndex()) == 0 && hardState.isEmpty
    }

    /// Starts a new group on a pristine store: writes `voters` as committed
    /// membership entries (`RaftNode.bootstrapEntries`), so that members added
    /// later learn the initial membership by replication. Does nothing on a
    /// store that already holds state, so it is safe on every start.
    /// - Returns: whether it bootstrapped.
    @discardableResult
    public func bootstrapIfPristine(voters: [NodeID]) throws(StorageError) -> Bool {
        guard isPristine, !voters.isEmpty else { return false }
        let entries = RaftNode.bootstrapEntries(voters: voters)
        try persist(entries: entries, hardState: HardState(term: 1, vote: 0, commit: UInt64(entries.count)), snapshot: nil)
        return true
    }
}
