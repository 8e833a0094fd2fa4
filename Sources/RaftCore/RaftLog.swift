/// Entries and a snapshot received but not yet persisted by the application.
struct UnstableLog {
    var snapshot: Snapshot?
    var entries: [Entry] = []
    /// The index of `entries[0]`, or where the next entry would go.
    var offset: UInt64

    var firstIndex: UInt64? { snapshot.map { $0.metadata.index + 1 } }

    var lastIndex: UInt64? {
        if let last = entries.last { return last.index }
        return snapshot?.metadata.index
    }

    func term(at index: UInt64) -> UInt64? {
        if index < offset {
            if let snapshot, snapshot.metadata.index == index { return snapshot.metadata.term }
            return nil
        }
        guard let last = lastIndex, index <= last, !entries.isEmpty else { return nil }
        return entries[Int(index - offset)].term
    }

    /// Appends `new`, truncating any held entries from `new[0].index` on.
    mutating func truncateAndAppend(_ new: [Entry]) {
        guard let first = new.first?.index else { return }
        if first == offset + UInt64(entries.count) {
            entries.append(contentsOf: new)
        } else if first <= offset {
            offset = first
            entries = new
        } else {
            entries.removeSubrange(Int(first - offset)...)
            entries.append(contentsOf: new)
        }
    }

    /// Marks entries up to (`index`, `term`) persisted.
    mutating func stable(to index: UInt64, term: UInt64) {
        guard let t = self.term(at: index), t == term, index >= offset else { return }
        entries.removeSubrange(0..<Int(index + 1 - offset))
        offset = index + 1
    }

    mutating func stableSnapshot(to index: UInt64) {
        if snapshot?.metadata.index == index { snapshot = nil }
    }

    mutating func restore(_ snap: Snapshot) {
        offset = snap.metadata.index + 1
        entries = []
        snapshot = snap
    }
}

/// A replica's log: what storage holds plus what is not yet persisted, with
/// the commit and apply positions.
struct RaftLog {
    let storage: any RaftStorage
    var unstable: UnstableLog
    /// Highest index known committed.
    var committed: UInt64
    /// Highest index handed to the application in a `Ready` (and not yet acknowledged, possibly).
    var applying: UInt64
    /// Highest index the application acknowledged applying (by `advance`).
    var applied: UInt64

    init(storage: any RaftStorage) {
        self.storage = storage
        let first = Self.must { () throws(RaftStorageError) in try storage.firstIndex() }
        let last = Self.must { () throws(RaftStorageError) in try storage.lastIndex() }
        unstable = UnstableLog(offset: last + 1)
        committed = first - 1
        applying = first - 1
        applied = first - 1
    }

    /// Storage reads other than `compacted`/`unavailable` mean the disk failed
    /// under us; a replica cannot go on without its log.
    static func must<T>(_ read: () throws(RaftStorageError) -> T) -> T {
        do {
            return try read()
        } catch {
            storageFailed(error)
        }
    }

    static func storageFailed(_ error: RaftStorageError) -> Never {
        fatalError("Raft storage failed: \(error). The replica cannot continue without its log; check the data directory.")
    }

    var firstIndex: UInt64 {
        if let first = unstable.firstIndex { return first }
        return Self.must { () throws(RaftStorageError) in try storage.firstIndex() }
    }

    var lastIndex: UInt64 {
        if let last = unstable.lastIndex { return last }
        return Self.must { () throws(RaftStorageError) in try storage.lastIndex() }
    }

    var lastTerm: UInt64 { (try? term(at: lastIndex)) ?? 0 }

    /// The term at `index`: 0 beyond the log; throws `.compacted` below it.
    func term(at index: UInt64) throws(RaftStorageError) -> UInt64 {
        let dummy = firstIndex - 1
        if index < dummy { throw .compacted }
        if index > lastIndex { return 0 }
        if let t = unstable.term(at: index) { return t }
        do {
            return try storage.term(at: index)
        } catch .unavailable {
            return 0
        } catch .compacted {
            throw .compacted
        } catch {
            Self.storageFailed(error)
        }
    }

    /// The term at `index`, or 0 when it is compacted or beyond the log.
    func termOrZero(_ index: UInt64) -> UInt64 { (try? term(at: index)) ?? 0 }

    func matchTerm(_ index: UInt64, _ term: UInt64) -> Bool {
        guard let t = try? self.term(at: index) else { return false }
        return t == term
    }

    /// Whether a log ending at (`index`, `term`) is at least as up to date as this one (§5.4.1).
    func isUpToDate(lastIndex index: UInt64, term: UInt64) -> Bool {
        term > lastTerm || (term == lastTerm && index >= lastIndex)
    }

    /// Entries in `lo..<hi`, bounded by `maxBytes` (at least one).
    func entries(from lo: UInt64, to hi: UInt64, maxBytes: UInt64) throws(RaftStorageError) -> [Entry] {
        if lo >= hi { return [] }
        if lo < firstIndex { throw .compacted }
        precondition(hi <= lastIndex + 1, "entries(\(lo)..<\(hi)) beyond last index \(lastIndex)")
        var result: [Entry] = []
        if lo < unstable.offset {
            let storedHi = min(hi, unstable.offset)
            result = try storage.entries(from: lo, to: storedHi, maxBytes: maxBytes)
            if UInt64(result.count) < storedHi - lo { return result }
        }
        if hi > unstable.offset {
            let from = max(lo, unstable.offset)
            let slice = unstable.entries[Int(from - unstable.offset)..<Int(hi - unstable.offset)]
            var total = result.byteSize
            for entry in slice {
                total &+= entry.byteSize
                if total > maxBytes && !result.isEmpty { break }
                result.append(entry)
            }
        }
        return result
    }

    /// The first index in `entries` whose term differs from ours, or 0 if all match.
    func findConflict(_ entries: [Entry]) -> UInt64 {
        for entry in entries where !matchTerm(entry.index, entry.term) {
            return entry.index
        }
        return 0
    }

    /// The largest index ≤ `index` whose term is ≤ `term`, with that term: where
    /// a leader should probe next (fast backtracking).
    func findConflictByTerm(index: UInt64, term: UInt64) -> (index: UInt64, term: UInt64) {
        var i = index
        while i > 0 {
            guard let t = try? self.term(at: i) else { return (i, 0) }
            if t <= term { return (i, t) }
            i -= 1
        }
        return (0, 0)
    }

    /// Appends a leader's entries after (`index`, `logTerm`) if our log
    /// matches there; returns the new last index, or nil on mismatch. The
    /// second value is the first index written (anything held from there on
    /// was replaced), or nil when every entry was already held.
    mutating func maybeAppend(index: UInt64, logTerm: UInt64, commit: UInt64, entries: [Entry]) -> (lastNew: UInt64, appendedFrom: UInt64?)? {
        guard matchTerm(index, logTerm) else { return nil }
        let lastNew = index + UInt64(entries.count)
        let conflict = findConflict(entries)
        if conflict != 0 {
            precondition(conflict > committed, "entry \(conflict) conflicts with committed entry (committed \(committed))")
            let start = Int(conflict - (index + 1))
            append(Array(entries[start...]))
        }
        self.commit(to: min(commit, lastNew))
        return (lastNew, conflict != 0 ? conflict : nil)
    }

    mutating func append(_ entries: [Entry]) {
        guard let first = entries.first else { return }
        precondition(first.index > committed, "appending \(first.index) below committed \(committed)")
        unstable.truncateAndAppend(entries)
    }

    mutating func commit(to index: UInt64) {
        if index > committed {
            precondition(index <= lastIndex, "commit \(index) beyond last index \(lastIndex)")
            committed = index
        }
    }

    /// Committed entries not yet handed to the application, up to `maxBytes`.
    func nextCommittedEntries(maxBytes: UInt64) -> [Entry] {
        let lo = max(applying + 1, firstIndex)
        let hi = committed + 1
        if lo >= hi { return [] }
        // Hand out only what is persisted, or in the unstable part being persisted with this Ready.
        return Self.must { () throws(RaftStorageError) in try entries(from: lo, to: hi, maxBytes: maxBytes) }
    }

    var hasNextCommittedEntries: Bool {
        committed > applying && committed >= firstIndex && max(applying + 1, firstIndex) <= committed
    }

    mutating func restore(_ snapshot: Snapshot) {
        committed = snapshot.metadata.index
        unstable.restore(snapshot)
    }
}
