/// The kinds of message replicas exchange.
public enum MessageType: UInt8, Sendable, Hashable, CaseIterable {
    /// Leader → follower: `entries` follow the entry at (`index`, `logTerm`); `commit` is the leader's.
    case append = 0
    /// Follower → leader: accepted up to `index`, or `reject` with a conflict hint.
    case appendResponse = 1
    /// Candidate → voter: vote for me in `term`; my last entry is (`index`, `logTerm`).
    case vote = 2
    case voteResponse = 3
    /// Would-be candidate → voter: would you vote for me in `term` (not yet adopted)?
    case preVote = 4
    case preVoteResponse = 5
    /// Leader → follower: I am alive; `commit` is what you may commit; `context` tags a read.
    case heartbeat = 6
    case heartbeatResponse = 7
    /// Leader → follower: one chunk of a snapshot.
    case snapshot = 8
    /// Follower → leader: chunks received up to `index` (an offset), or `reject` to restart from it.
    case snapshotResponse = 9
    /// Leader → transfer target: start an election now, ignoring leases.
    case timeoutNow = 10
    /// Follower → leader: a linearizable read request tagged by `context`.
    case readIndex = 11
    /// Leader → follower: the read tagged by `context` may proceed once `index` is applied.
    case readIndexResponse = 12
    /// Follower → leader: append `entries` (their data, as `.tagged` entries)
    /// as proposals of `term`; `context` names them in a refusal.
    case propose = 13
    /// Leader → follower: the proposal named by `context` was refused. When
    /// `rejectHint` is non-zero a leadership transfer to it is under way;
    /// otherwise too much was uncommitted (`index` bytes against a limit of `commit`).
    case proposeResponse = 14
}

/// One chunk of a snapshot in flight to a follower.
public struct SnapshotChunk: Sendable, Hashable {
    public var metadata: SnapshotMetadata
    /// Where `data` starts within the whole snapshot's data.
    public var offset: UInt64
    /// The size of the whole snapshot's data.
    public var totalSize: UInt64
    public var data: [UInt8]

    public init(metadata: SnapshotMetadata, offset: UInt64, totalSize: UInt64, data: [UInt8]) {
        self.metadata = metadata
        self.offset = offset
        self.totalSize = totalSize
        self.data = data
    }

    public var isLast: Bool { offset + UInt64(data.count) >= totalSize }
}

/// A message between two replicas of a group. Fields a type does not use stay zero or empty.
public struct Message: Sendable, Hashable {
    public var type: MessageType
    public var from: NodeID
    public var to: NodeID
    public var term: UInt64
    public var logTerm: UInt64
    public var index: UInt64
    public var entries: [Entry]
    public var commit: UInt64
    public var reject: Bool
    public var rejectHint: UInt64
    /// An opaque tag: the read request a heartbeat or read message belongs to.
    public var context: [UInt8]
    /// Set on a vote request that follows a leadership transfer, so voters
    /// grant it even while they believe the current leader is alive.
    public var leadershipTransfer: Bool
    public var snapshot: SnapshotChunk?

    public init(
        type: MessageType, from: NodeID = 0, to: NodeID = 0, term: UInt64 = 0,
        logTerm: UInt64 = 0, index: UInt64 = 0, entries: [Entry] = [], commit: UInt64 = 0,
        reject: Bool = false, rejectHint: UInt64 = 0, context: [UInt8] = [],
        leadershipTransfer: Bool = false, snapshot: SnapshotChunk? = nil
    ) {
        self.type = type
        self.from = from
        self.to = to
        self.term = term
        self.logTerm = logTerm
        self.index = index
        self.entries = entries
        self.commit = commit
        self.reject = reject
        self.rejectHint = rejectHint
        self.context = context
        self.leadershipTransfer = leadershipTransfer
        self.snapshot = snapshot
    }

    /// Whether the message asks for a vote or a pre-vote.
    public var isVoteRequest: Bool { type == .vote || type == .preVote }
}
