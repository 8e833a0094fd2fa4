/// Read requests waiting for a quorum to confirm this leader, in arrival order.
struct ReadOnlyQueue {
    struct Request {
        let index: UInt64
        let from: NodeID
        let context: [UInt8]
        var acks: Set<NodeID>
    }

    var requests: [Request] = []

    var lastPendingContext: [UInt8]? { requests.last?.context }

    func contains(_ context: [UInt8]) -> Bool {
        requests.contains { $0.context == context }
    }
}

extension RaftNode {
    /// Requests a linearizable read tagged by `context` (unique per request).
    /// When it may proceed, a `ReadState` with the same context comes out of
    /// `ready()`: the read is linearizable once the application has applied
    /// that index. A request may be dropped (leadership changed); retry on timeout.
    public mutating func readIndex(context: [UInt8]) throws(RaftError) {
        if role == .leader {
            handleReadIndexRequest(from: id, context: context)
        } else if leader != 0 {
            send(Message(type: .readIndex, to: leader, context: context))
        } else {
            throw .notLeader(leader: 0)
        }
    }

    mutating func handleReadIndexRequest(from: NodeID, context: [UInt8]) {
        if confState.voters == [id] {
            answerRead(from: from, index: log.committed, context: context)
            return
        }
        guard committedInCurrentTerm else {
            // The commit index is only known to be current once this term committed an entry.
            pendingReads.append((from, context))
            return
        }
        if config.readOnlyOption == .leaseBased && holdsLease {
            answerRead(from: from, index: log.committed, context: context)
            return
        }
        guard !readOnly.contains(context) else { return }
        readOnly.requests.append(.init(index: log.committed, from: from, context: context, acks: [id]))
        broadcastHeartbeat()
    }

    /// Whether no other leader can have been elected: a quorum acknowledged
    /// heartbeats sent less than an election timeout ago (less one tick, for
    /// clocks that tick a little apart), so each still refuses to vote, and
    /// no transfer told a member to campaign regardless. A check-quorum
    /// window is not enough: a leader can keep its role for almost two
    /// election timeouts after it last heard from its quorum.
    var holdsLease: Bool {
        guard !leaseRevoked else { return false }
        let horizon = UInt64(max(0, config.electionTick - 1))
        let fresh = confState.voters.filter { voter in
            if voter == id { return true }
            guard let sent = heartbeatAcked[voter] else { return false }
            return ticksElapsed - sent < horizon
        }
        return fresh.count >= confState.quorum
    }

    /// Tells `member` to campaign now (a leadership transfer), which ends this leader's lease.
    mutating func sendTimeoutNow(to member: NodeID) {
        leaseRevoked = true
        send(Message(type: .timeoutNow, to: member))
    }

    mutating func releasePendingReads() {
        let waiting = pendingReads
        pendingReads = []
        for read in waiting {
            handleReadIndexRequest(from: read.from, context: read.context)
        }
    }

    mutating func acknowledgeRead(from member: NodeID, context: [UInt8]) {
        guard let position = readOnly.requests.firstIndex(where: { $0.context == context }) else { return }
        readOnly.requests[position].acks.insert(member)
        let acks = readOnly.requests[position].acks
        let voters = confState.voters
        guard voters.filter({ acks.contains($0) }).count >= confState.quorum else { return }
        // A quorum confirmed leadership after this request arrived: it and every earlier one may proceed.
        let released = readOnly.requests[...position]
        readOnly.requests.removeSubrange(...position)
        for request in released {
            answerRead(from: request.from, index: request.index, context: request.context)
        }
    }

    mutating func answerRead(from: NodeID, index: UInt64, context: [UInt8]) {
        if from == id {
            readStates.append(ReadState(index: index, context: context))
        } else {
            send(Message(type: .readIndexResponse, to: from, index: index, context: context))
        }
    }
}
