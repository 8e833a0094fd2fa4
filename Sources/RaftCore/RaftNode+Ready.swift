extension RaftNode {
    /// Whether `ready()` has anything to hand out.
    public var hasReady: Bool {
        broadcastPending || !messages.isEmpty || !log.unstable.entries.isEmpty
            || log.unstable.snapshot != nil || log.committed > log.applying
            || !readStates.isEmpty || !refusedProposals.isEmpty || softState != previousSoftState || hardState != previousHardState
    }

    /// Collects the work to do since the last `Ready`. Call `advance(_:)` with
    /// the result once it is done, before calling `ready()` again; inputs
    /// given meanwhile are handed out by that next call.
    public mutating func ready() -> Ready {
        if broadcastPending { broadcastAppend() }
        var rd = Ready()
        rd.entries = log.unstable.entries
        rd.snapshot = log.unstable.snapshot
        rd.committedEntries = log.nextCommittedEntries(maxBytes: config.maxCommittedBytesPerReady)
        let soft = softState
        if soft != previousSoftState {
            rd.softState = soft
            previousSoftState = soft
        }
        let hard = hardState
        if hard != previousHardState {
            rd.hardState = hard
            rd.mustSync = hard.term != previousHardState.term || hard.vote != previousHardState.vote
            previousHardState = hard
        }
        rd.mustSync = rd.mustSync || !rd.entries.isEmpty || rd.snapshot != nil
        rd.messages = messages
        rd.fromLeader = role == .leader
        messages = []
        rd.readStates = readStates
        readStates = []
        rd.refusedProposals = refusedProposals
        refusedProposals = []
        if let snapshot = rd.snapshot { log.applying = max(log.applying, snapshot.metadata.index) }
        if let last = rd.committedEntries.last { log.applying = last.index }
        return rd
    }

    /// Records that the work of `rd` is done: its entries and snapshot are
    /// persisted and its committed entries applied.
    public mutating func advance(_ rd: Ready) {
        if let snapshot = rd.snapshot {
            log.unstable.stableSnapshot(to: snapshot.metadata.index)
            log.applied = max(log.applied, snapshot.metadata.index)
        }
        if let last = rd.entries.last {
            log.unstable.stable(to: last.index, term: last.term)
        }
        if let last = rd.committedEntries.last {
            log.applied = max(log.applied, last.index)
            if role == .leader {
                var bytes: UInt64 = 0
                for entry in rd.committedEntries { bytes &+= UInt64(entry.data.count) }
                uncommittedBytes = uncommittedBytes > bytes ? uncommittedBytes - bytes : 0
            }
        }
    }
}
