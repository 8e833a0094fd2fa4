extension RaftNode {
    /// The log every member of a new group starts with: one committed
    /// `addVoter` entry per initial voter, in term 1. Persist these entries
    /// with `HardState(term: 1, commit: voters.count)` before creating the node.
    public static func bootstrapEntries(voters: [NodeID]) -> [Entry] {
        var entries: [Entry] = []
        for (offset, voter) in Set(voters).sorted().enumerated() {
            entries.append(Entry(term: 1, index: UInt64(offset + 1), kind: .confChange, data: ConfChange(.addVoter, voter).encoded()))
        }
        return entries
    }

    /// Proposes a membership change. Fails while another change is
    /// uncommitted or before this leader has committed an entry of its term.
    @discardableResult
    public mutating func proposeConfChange(_ change: ConfChange) throws(RaftError) -> LogPosition {
        try checkCanPropose()
        guard change.nodeID != 0 else { throw .invalidConfChange }
        guard committedInCurrentTerm, configs[configs.count - 1].index <= log.committed else {
            throw .confChangeInProgress
        }
        let current = confState
        if change.type == .removeNode && !current.contains(change.nodeID) {
            throw .unknownNode(change.nodeID)
        }
        let next = current.applying(change)
        guard !next.voters.isEmpty else { throw .invalidConfChange }
        let index = log.lastIndex + 1
        appendAsLeader([Entry(term: term, index: 0, kind: .confChange, data: change.encoded())])
        return LogPosition(index: index, term: term)
    }

    /// Hands leadership to `target`, or to the most up-to-date voter when nil.
    /// The transfer is abandoned after an election timeout; proposals fail meanwhile.
    public mutating func transferLeadership(to target: NodeID? = nil) throws(RaftError) {
        guard role == .leader else { throw .notLeader(leader: leader) }
        let chosen: NodeID
        if let target {
            chosen = target
        } else {
            let candidates = confState.voters.filter { $0 != id }
            guard let best = candidates.max(by: { (progress[$0]?.match ?? 0, $1) < (progress[$1]?.match ?? 0, $0) }) else {
                throw .unknownNode(0)
            }
            chosen = best
        }
        guard confState.isVoter(chosen) else { throw .unknownNode(chosen) }
        if chosen == id || chosen == leadTransferee { return }
        leadTransferee = chosen
        electionElapsed = 0
        if progress[chosen]!.match == log.lastIndex {
            sendTimeoutNow(to: chosen)
        } else {
            _ = sendAppend(to: chosen, sendIfEmpty: true)
        }
    }
}
