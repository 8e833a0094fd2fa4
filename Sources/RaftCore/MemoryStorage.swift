/// A `RaftStorage` held in memory: for tests, simulations and examples, and
/// as the model the durable backends in the Storage target conform to.
///
/// Not thread-safe: it belongs to whoever drives the `RaftNode`.
public final class MemoryStorage: RaftStorage {
    /// `log[0]` is a placeholder carrying the snapshot's index and term.
    private var log: [Entry]
    public private(set) var hardState: HardState
    private var latestSnapshot: Snapshot

    /// An empty log whose initial membership is `confState` (a fresh group).
    public init(confState: ConfState = ConfState()) {
        log = [Entry(term: 0, index: 0)]
        hardState = HardState()
        latestSnapshot = Snapshot(metadata: SnapshotMetadata(index: 0, term: 0, confState: confState))
    }

    /// A new member of a new group: the log holds the group's initial
    /// membership as committed entries (see `RaftNode.bootstrapEntries`), so
    /// that members added later learn it by replication.
    public convenience init(bootstrapping voters: [NodeID]) {
        self.init()
        let entries = RaftNode.bootstrapEntries(voters: voters)
        append(entries)
        setHardState(HardState(term: 1, vote: 0, commit: UInt64(entries.count)))
    }

    // MARK: RaftStorage

    public func initialState() throws(RaftStorageError) -> (HardState, ConfState) {
        (hardState, latestSnapshot.metadata.confState)
    }

    public func entries(from lo: UInt64, to hi: UInt64, maxBytes: UInt64) throws(RaftStorageError) -> [Entry] {
        let offset = log[0].index
        guard lo > offset else { throw .compacted }
        guard hi <= lastIndexValue + 1 else { throw .unavailable }
        if lo >= hi { return [] }
        let start = Int(lo - offset), end = Int(hi - offset)
        return log[start..<end].prefix(maxBytes: maxBytes)
    }

    public func term(at index: UInt64) throws(RaftStorageError) -> UInt64 {
        let offset = log[0].index
        guard index >= offset else { throw .compacted }
        guard index <= lastIndexValue else { throw .unavailable }
        return log[Int(index - offset)].term
    }

    public func firstIndex() throws(RaftStorageError) -> UInt64 { log[0].index + 1 }

    public func lastIndex() throws(RaftStorageError) -> UInt64 { lastIndexValue }

    public func snapshot() throws(RaftStorageError) -> Snapshot { latestSnapshot }

    // MARK: Writes

    public func setHardState(_ state: HardState) {
        hardState = state
    }

    /// Appends `entries`, replacing any held entries from the first new index on.
    /// Entries already covered by the snapshot are ignored.
    public func append(_ entries: [Entry]) {
        guard var first = entries.first?.index else { return }
        let compactedThrough = log[0].index
        var slice = entries[...]
        if first <= compactedThrough {
            slice = slice.dropFirst(Int(compactedThrough + 1 - first))
            guard let next = slice.first?.index else { return }
            first = next
        }
        let keep = Int(first - compactedThrough)
        precondition(keep <= log.count, "append leaves a gap: log ends at \(lastIndexValue), entries start at \(first)")
        if keep < log.count { log.removeSubrange(keep...) }
        log.append(contentsOf: slice)
    }

    /// Replaces the whole log with `snapshot` (a follower catching up).
    public func applySnapshot(_ snapshot: Snapshot) {
        latestSnapshot = snapshot
        log = [Entry(term: snapshot.metadata.term, index: snapshot.metadata.index)]
        if hardState.commit < snapshot.metadata.index { hardState.commit = snapshot.metadata.index }
    }

    /// Records a snapshot of the application's state as of `index`, which
    /// must be held in the log. Does not compact; call `compact(through:)`.
    @discardableResult
    public func createSnapshot(index: UInt64, confState: ConfState, data: [UInt8]) throws(RaftStorageError) -> Snapshot {
        guard index > latestSnapshot.metadata.index else { throw .compacted }
        let term = try term(at: index)
        latestSnapshot = Snapshot(metadata: SnapshotMetadata(index: index, term: term, confState: confState), data: data)
        return latestSnapshot
    }

    /// Discards entries up to and including `index`, keeping `index`'s term.
    public func compact(through index: UInt64) throws(RaftStorageError) {
        let offset = log[0].index
        guard index > offset else { throw .compacted }
        guard index <= lastIndexValue else { throw .unavailable }
        let cut = Int(index - offset)
        let placeholder = Entry(term: log[cut].term, index: index)
        log.removeSubrange(0...cut)
        log.insert(placeholder, at: 0)
    }

    // MARK: Helpers

    private var lastIndexValue: UInt64 { log[0].index + UInt64(log.count - 1) }
}
