extension RaftNode {
    // MARK: Proposals

    /// Appends `data` to the log as a new entry; returns where it went. It is
    /// committed when a committed entry with that position is handed out.
    @discardableResult
    public mutating func propose(_ data: [UInt8]) throws(RaftError) -> LogPosition {
        let range = try propose(batch: [data])
        return LogPosition(index: range.lowerBound, term: term)
    }

    /// Appends several entries at once (they share one append message and one
    /// fsync); returns their indices, all in the current term.
    @discardableResult
    public mutating func propose(batch: [[UInt8]]) throws(RaftError) -> ClosedRange<UInt64> {
        precondition(!batch.isEmpty, "propose(batch:) needs at least one entry")
        return try append(batch, kind: .normal)
    }

    /// Proposes `data` (which begins with the caller's tag) as a `.tagged`
    /// entry on whichever replica leads: appended here when this one leads,
    /// otherwise sent to the leader this replica knows, which appends it in
    /// this term or not at all. Hence the caller learns the outcome by
    /// applying: its tag comes back in a committed entry of this term, or a
    /// committed entry of a later term comes first and it was dropped. A
    /// refusal by the leader comes out of `ready()` as a ``RefusedProposal``
    /// with `context`; a proposal lost on the way gives no word at all.
    public mutating func proposeTagged(_ data: [UInt8], context: [UInt8]) throws(RaftError) {
        if role == .leader {
            _ = try append([data], kind: .tagged)
        } else if role == .follower && leader != 0 {
            send(Message(type: .propose, to: leader, entries: [Entry(term: 0, index: 0, kind: .tagged, data: data)], context: context))
        } else {
            throw .notLeader(leader: 0)
        }
    }

    /// Appends `batch` as new entries of `kind` within the limit of uncommitted bytes.
    private mutating func append(_ batch: [[UInt8]], kind: EntryKind) throws(RaftError) -> ClosedRange<UInt64> {
        try checkCanPropose()
        var bytes: UInt64 = 0
        for data in batch { bytes &+= UInt64(data.count) }
        if config.maxUncommittedBytes > 0 && uncommittedBytes > 0 && uncommittedBytes + bytes > config.maxUncommittedBytes {
            throw .proposalQueueFull(uncommittedBytes: uncommittedBytes, limit: config.maxUncommittedBytes)
        }
        let first = log.lastIndex + 1
        appendAsLeader(batch.map { Entry(term: term, index: 0, kind: kind, data: $0) })
        return first...(first + UInt64(batch.count) - 1)
    }

    /// A follower's forwarded proposal: appended, or refused with a reason.
    mutating func handleForwardedProposal(_ m: Message) {
        do {
            _ = try append(m.entries.map(\.data), kind: .tagged)
        } catch {
            var refusal = Message(type: .proposeResponse, to: m.from, reject: true, context: m.context)
            switch error {
            case .leadershipTransferInProgress(let to): refusal.rejectHint = to
            case .proposalQueueFull(let uncommitted, let limit):
                refusal.index = uncommitted
                refusal.commit = limit
            default: return  // not leading: the proposer learns from the next leader's entries
            }
            send(refusal)
        }
    }

    func checkCanPropose() throws(RaftError) {
        guard role == .leader else { throw .notLeader(leader: leader) }
        if leadTransferee != 0 { throw .leadershipTransferInProgress(to: leadTransferee) }
    }

    /// Appends entries (indices and terms assigned here) to the leader's log.
    mutating func appendAsLeader(_ newEntries: [Entry]) {
        var entries = newEntries
        var index = log.lastIndex
        for i in entries.indices {
            index += 1
            entries[i].index = index
            entries[i].term = term
            uncommittedBytes &+= UInt64(entries[i].data.count)
        }
        log.append(entries)
        logChanged(truncatedFrom: nil, appended: entries)
        _ = progress[id]?.maybeUpdate(log.lastIndex)
        _ = maybeCommit()
        broadcastPending = true
    }

    // MARK: Leader

    mutating func stepLeader(_ m: Message) {
        guard progress[m.from] != nil else { return }
        switch m.type {
        case .appendResponse:
            handleAppendResponse(m)
        case .heartbeatResponse:
            handleHeartbeatResponse(m)
        case .snapshotResponse:
            handleSnapshotResponse(m)
        case .readIndex:
            handleReadIndexRequest(from: m.from, context: m.context)
        case .propose where !m.entries.isEmpty:
            handleForwardedProposal(m)
        default:
            break
        }
    }

    mutating func handleAppendResponse(_ m: Message) {
        progress[m.from]!.recentActive = true
        if m.reject {
            var hint = m.rejectHint
            if m.logTerm > 0 {
                hint = log.findConflictByTerm(index: m.rejectHint, term: m.logTerm).index
            }
            if progress[m.from]!.maybeDecrease(rejected: m.index, matchHint: hint) {
                if progress[m.from]!.state == .replicate { progress[m.from]!.becomeProbe() }
                _ = sendAppend(to: m.from, sendIfEmpty: true)
            }
            return
        }
        let wasPaused = progress[m.from]!.isPaused
        guard progress[m.from]!.maybeUpdate(m.index) || (progress[m.from]!.state == .snapshot && m.index >= progress[m.from]!.pendingSnapshot) else {
            return
        }
        var pr = progress[m.from]!
        switch pr.state {
        case .probe:
            pr.becomeReplicate()
        case .snapshot where pr.match >= pr.pendingSnapshot || pr.match + 1 >= log.firstIndex || m.index >= pr.pendingSnapshot:
            pr.becomeProbe()
            pr.becomeReplicate()
            snapshotTransfers[m.from] = nil
        case .snapshot:
            break
        case .replicate:
            pr.inflights.free(upTo: m.index)
        }
        progress[m.from] = pr
        if maybeCommit() {
            broadcastPending = true
            guard role == .leader else { return }
        } else if wasPaused {
            _ = sendAppend(to: m.from, sendIfEmpty: false)
        }
        while sendAppend(to: m.from, sendIfEmpty: false) {}
        if m.from == leadTransferee && progress[m.from]!.match == log.lastIndex {
            sendTimeoutNow(to: m.from)
        }
    }

    mutating func handleHeartbeatResponse(_ m: Message) {
        progress[m.from]!.recentActive = true
        if m.index <= ticksElapsed { heartbeatAcked[m.from] = max(heartbeatAcked[m.from] ?? 0, m.index) }
        progress[m.from]!.probeSent = false
        if progress[m.from]!.state == .replicate && progress[m.from]!.inflights.isFull {
            // Appends may have been lost: let one more through, so that a
            // follower that lacks them answers with a rejection.
            progress[m.from]!.inflights.freeFirst()
        }
        if progress[m.from]!.state == .snapshot {
            resendStalledSnapshot(to: m.from)
        } else if progress[m.from]!.match < log.lastIndex {
            _ = sendAppend(to: m.from, sendIfEmpty: true)
        }
        if !m.context.isEmpty {
            acknowledgeRead(from: m.from, context: m.context)
        }
    }

    /// Advances the commit index to the highest index a quorum of voters holds,
    /// if that entry is of the current term (§5.4.2). Returns whether it moved.
    mutating func maybeCommit() -> Bool {
        let voters = confState.voters
        guard !voters.isEmpty else { return false }
        var matches: [UInt64] = []
        matches.reserveCapacity(voters.count)
        for voter in voters { matches.append(progress[voter]?.match ?? 0) }
        matches.sort(by: >)
        let candidate = matches[confState.quorum - 1]
        guard candidate > log.committed, log.termOrZero(candidate) == term else { return false }
        let wasCommittedInTerm = committedInCurrentTerm
        log.commit(to: candidate)
        if !wasCommittedInTerm { releasePendingReads() }
        if !confState.isVoter(id) && configs[configs.count - 1].index <= log.committed {
            // This leader's removal (or demotion) is committed: hand over.
            becomeFollower(term: term, leader: 0)
        }
        return true
    }

    /// Sends `to` the entries it lacks (or a snapshot). Returns whether a message went out.
    mutating func sendAppend(to member: NodeID, sendIfEmpty: Bool) -> Bool {
        guard member != id, role == .leader, let pr = progress[member], !pr.isPaused else { return false }
        let prevIndex = pr.next - 1
        let prevTerm: UInt64
        var entries: [Entry] = []
        do {
            prevTerm = try log.term(at: prevIndex)
            let hi = min(log.lastIndex + 1, pr.next + UInt64(config.maxEntriesPerMessage))
            entries = try log.entries(from: pr.next, to: hi, maxBytes: config.maxSizePerMessage)
        } catch .compacted {
            return startSnapshot(to: member)
        } catch {
            RaftLog.storageFailed(error)
        }
        if entries.isEmpty && !sendIfEmpty { return false }
        let bytes = entries.byteSize
        progress[member]!.sentEntries(count: entries.count, lastIndex: entries.last?.index ?? prevIndex, bytes: bytes)
        send(Message(
            type: .append, to: member, logTerm: prevTerm, index: prevIndex,
            entries: entries, commit: log.committed
        ))
        return true
    }

    /// Sends every follower what it lacks (pipelining up to each window).
    mutating func broadcastAppend() {
        broadcastPending = false
        guard role == .leader else { return }
        for member in confState.members where member != id {
            var first = true
            while sendAppend(to: member, sendIfEmpty: first) { first = false }
        }
    }

    mutating func broadcastHeartbeat() {
        let context = readOnly.lastPendingContext ?? []
        for member in confState.members where member != id {
            guard let pr = progress[member] else { continue }
            send(Message(type: .heartbeat, to: member, index: ticksElapsed, commit: min(pr.match, log.committed), context: context))
        }
    }

    // MARK: Follower

    mutating func handleAppend(_ m: Message) {
        if m.index < log.committed {
            send(Message(type: .appendResponse, to: m.from, index: log.committed))
            return
        }
        if let result = log.maybeAppend(index: m.index, logTerm: m.logTerm, commit: m.commit, entries: m.entries) {
            if let from = result.appendedFrom {
                logChanged(truncatedFrom: from, appended: m.entries.filter { $0.index >= from })
            }
            send(Message(type: .appendResponse, to: m.from, index: result.lastNew))
            return
        }
        // Reject with a hint: the last index at or below m.index whose term is
        // at most m.logTerm, so the leader can skip a whole term at once.
        let hintIndex = min(m.index, log.lastIndex)
        let hint = log.findConflictByTerm(index: hintIndex, term: m.logTerm)
        send(Message(
            type: .appendResponse, to: m.from, logTerm: hint.term, index: m.index,
            reject: true, rejectHint: hint.index
        ))
    }

    mutating func handleHeartbeat(_ m: Message) {
        log.commit(to: min(m.commit, log.lastIndex))
        send(Message(type: .heartbeatResponse, to: m.from, index: m.index, context: m.context))
    }

    // MARK: Configuration tracking

    /// Re-reads the configuration entries held in the log after the snapshot (on start).
    mutating func replayConfigurations() {
        var next = log.firstIndex
        let last = log.lastIndex
        while next <= last {
            let batch = RaftLog.must { () throws(RaftStorageError) in
                try log.entries(from: next, to: last + 1, maxBytes: 16 << 20)
            }
            logChanged(truncatedFrom: nil, appended: batch, updateProgress: false)
            next += UInt64(batch.count)
        }
    }

    /// Keeps `configs` in step with the log: drops configurations from
    /// truncated entries and adopts those of appended ones.
    mutating func logChanged(truncatedFrom: UInt64?, appended: [Entry], updateProgress: Bool = true) {
        var changed = false
        if let from = truncatedFrom {
            while configs.count > 1 && configs[configs.count - 1].index >= from {
                configs.removeLast()
                changed = true
            }
        }
        for entry in appended where entry.kind == .confChange {
            // An undecodable change is ignored identically by every replica.
            guard let change = try? ConfChange(decoding: entry.data) else { continue }
            configs.append((entry.index, confState.applying(change)))
            changed = true
        }
        if changed && updateProgress { configurationChanged() }
    }

    /// Brings the leader's progress map in line with the configuration in force.
    mutating func configurationChanged() {
        let conf = confState
        if role == .leader {
            for member in progress.keys where !conf.contains(member) {
                progress[member] = nil
                snapshotTransfers[member] = nil
            }
            for member in conf.members {
                if progress[member] == nil {
                    progress[member] = newProgress(for: member)
                }
                progress[member]!.isLearner = !conf.isVoter(member)
            }
            if leadTransferee != 0 && !conf.isVoter(leadTransferee) { leadTransferee = 0 }
            if maybeCommit() { broadcastPending = true }
            broadcastPending = true
        }
        if role != .leader && !conf.isVoter(id) && (role == .candidate || role == .preCandidate) {
            becomeFollower(term: term, leader: 0)
        }
    }
}
