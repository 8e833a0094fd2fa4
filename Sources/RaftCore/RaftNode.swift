/// One replica of a Raft group, as a deterministic state machine.
///
/// The node never performs I/O. Time enters through `tick()`, the network
/// through `step(_:)`, requests through `propose`, `proposeTagged`, `proposeConfChange`,
/// `readIndex` and `transferLeadership`. The work those produce comes out of
/// `ready()`; the application carries it out and calls `advance(_:)`. Inputs
/// may keep coming between `ready()` and `advance(_:)` (while the Ready's
/// writes are under way); what they produce comes out of the next `ready()`,
/// which may only be called after `advance(_:)`.
///
/// Membership follows the single-server rule: a configuration takes effect
/// as soon as its entry is appended, at most one change is uncommitted at a
/// time, and a new leader makes no change before it has committed an entry of
/// its own term.
public struct RaftNode {
    public let id: NodeID
    let config: RaftConfig
    var rng: SeededGenerator
    var log: RaftLog

    public internal(set) var term: UInt64 = 0
    /// Whom this replica voted for in `term`, or 0.
    public internal(set) var vote: NodeID = 0
    public internal(set) var role: RaftRole = .follower
    /// The leader this replica knows of in `term`, or 0.
    public internal(set) var leader: NodeID = 0

    /// The leader's view of every member (itself included).
    var progress: [NodeID: Progress] = [:]
    /// Votes received in the current campaign.
    var votes: [NodeID: Bool] = [:]
    var messages: [Message] = []
    var readStates: [ReadState] = []
    var refusedProposals: [RefusedProposal] = []

    var electionElapsed = 0
    var heartbeatElapsed = 0
    var randomizedElectionTimeout = 0

    /// The member leadership is being handed to, or 0.
    public internal(set) var leadTransferee: NodeID = 0
    /// Set once this leader told a member to campaign at once (`timeoutNow`):
    /// voters grant that campaign despite the lease, so for the rest of the
    /// term a read must be confirmed by a quorum even with lease-based reads.
    var leaseRevoked = false
    /// Ticks since this replica started: the clock of heartbeats and leases.
    var ticksElapsed: UInt64 = 0
    /// By member: when (in `ticksElapsed`) this leader sent the latest
    /// heartbeat it acknowledged. It reset its election timer no earlier.
    var heartbeatAcked: [NodeID: UInt64] = [:]
    /// Bytes of entries this leader appended that are not yet handed out committed.
    var uncommittedBytes: UInt64 = 0
    /// Configurations by the index of the entry that set them; the first comes
    /// from the snapshot. The last is the one in force.
    var configs: [(index: UInt64, conf: ConfState)]
    var readOnly = ReadOnlyQueue()
    /// Read requests that wait for this leader's first commit in its term.
    var pendingReads: [(from: NodeID, context: [UInt8])] = []
    /// Snapshots being streamed to followers (leader).
    var snapshotTransfers: [NodeID: SnapshotTransfer] = [:]
    /// A snapshot being received in chunks (follower).
    var incomingSnapshot: IncomingSnapshot?
    /// Appends are owed to followers; sent when `ready()` is next called, so
    /// that proposals arriving together share one message.
    var broadcastPending = false

    var previousSoftState: SoftState
    var previousHardState: HardState

    /// Restores a replica from `storage` (empty for a new one).
    public init(config: RaftConfig, storage: any RaftStorage) throws(RaftError) {
        if let problem = config.validate() { throw .invalidConfig(problem) }
        id = config.id
        self.config = config
        rng = SeededGenerator(seed: config.seed ^ (config.id &* 0x9E37_79B9_7F4A_7C15))
        let hardState: HardState
        let confState: ConfState
        do {
            (hardState, confState) = try storage.initialState()
        } catch {
            throw .storage(error)
        }
        log = RaftLog(storage: storage)
        configs = [(log.firstIndex - 1, confState)]
        previousSoftState = SoftState(leader: 0, role: .follower)
        previousHardState = hardState
        replayConfigurations()
        if !hardState.isEmpty {
            guard hardState.commit >= log.committed, hardState.commit <= log.lastIndex else {
                throw .storage(.backend("hard state commit \(hardState.commit) lies outside the log [\(log.committed), \(log.lastIndex)]"))
            }
            log.commit(to: hardState.commit)
            term = hardState.term
            vote = hardState.vote
        }
        if config.applied > log.applied {
            log.applied = min(config.applied, log.committed)
            log.applying = log.applied
        }
        becomeFollower(term: term, leader: 0)
        previousSoftState = softState
        previousHardState = self.hardState
    }

    // MARK: State

    public var hardState: HardState { HardState(term: term, vote: vote, commit: log.committed) }
    public var softState: SoftState { SoftState(leader: leader, role: role) }
    public var commitIndex: UInt64 { log.committed }
    public var appliedIndex: UInt64 { log.applied }
    public var lastIndex: UInt64 { log.lastIndex }
    public var firstIndex: UInt64 { log.firstIndex }

    /// The membership in force (set by the last configuration entry in the log).
    public var confState: ConfState { configs[configs.count - 1].conf }

    /// The membership as of `index`, for the metadata of a snapshot taken there;
    /// nil when `index` precedes the oldest known configuration.
    public func confState(atIndex index: UInt64) -> ConfState? {
        guard index >= configs[0].index else { return nil }
        return configs.last(where: { $0.index <= index })?.conf
    }

    /// The leader's view of `member`'s replication, if this replica leads.
    public func progress(of member: NodeID) -> Progress? {
        role == .leader ? progress[member] : nil
    }

    /// Whether this replica may campaign: it is a voter and is not installing a snapshot.
    var isPromotable: Bool { confState.isVoter(id) && log.unstable.snapshot == nil }

    var committedInCurrentTerm: Bool { log.termOrZero(log.committed) == term }

    // MARK: Time

    /// Advances logical time by one tick.
    public mutating func tick() {
        ticksElapsed += 1
        if role == .leader {
            tickHeartbeat()
        } else {
            tickElection()
        }
    }

    mutating func tickElection() {
        electionElapsed += 1
        if isPromotable && electionElapsed >= randomizedElectionTimeout {
            electionElapsed = 0
            campaign(transfer: false)
        }
    }

    mutating func tickHeartbeat() {
        heartbeatElapsed += 1
        electionElapsed += 1
        if electionElapsed >= config.electionTick {
            electionElapsed = 0
            if config.checkQuorum && !checkQuorumActive() {
                becomeFollower(term: term, leader: 0)
                return
            }
            if leadTransferee != 0 { leadTransferee = 0 }
        }
        if heartbeatElapsed >= config.heartbeatTick {
            heartbeatElapsed = 0
            broadcastHeartbeat()
        }
    }

    /// Whether a quorum was heard from during the last election timeout; clears the marks.
    mutating func checkQuorumActive() -> Bool {
        var active = 0
        for voter in confState.voters {
            if voter == id {
                active += 1
            } else if progress[voter]?.recentActive == true {
                active += 1
            }
        }
        for member in progress.keys where member != id {
            progress[member]!.recentActive = false
        }
        return active >= confState.quorum
    }

    // MARK: Roles

    mutating func reset(term newTerm: UInt64) {
        if term != newTerm {
            term = newTerm
            vote = 0
            incomingSnapshot = nil
        }
        leader = 0
        electionElapsed = 0
        heartbeatElapsed = 0
        randomizedElectionTimeout = config.electionTick + Int(rng.next() % UInt64(config.electionTick))
        leadTransferee = 0
        votes = [:]
        uncommittedBytes = 0
        readOnly = ReadOnlyQueue()
        pendingReads = []
        snapshotTransfers = [:]
        broadcastPending = false
        progress = [:]
        let last = log.lastIndex
        for member in confState.members {
            var pr = newProgress(for: member)
            if member == id {
                pr.match = last
                pr.recentActive = true
            }
            progress[member] = pr
        }
    }

    func newProgress(for member: NodeID) -> Progress {
        Progress(
            next: log.lastIndex + 1,
            inflightCapacity: config.maxInflightMessages,
            inflightBytes: config.maxInflightBytes,
            isLearner: !confState.isVoter(member)
        )
    }

    mutating func becomeFollower(term: UInt64, leader: NodeID) {
        reset(term: term)
        role = .follower
        self.leader = leader
    }

    mutating func becomePreCandidate() {
        precondition(role != .leader, "a leader cannot become a pre-candidate")
        votes = [:]
        leader = 0
        role = .preCandidate
    }

    mutating func becomeCandidate() {
        precondition(role != .leader, "a leader cannot become a candidate")
        reset(term: term + 1)
        vote = id
        role = .candidate
    }

    mutating func becomeLeader() {
        precondition(role != .follower, "a follower must campaign before leading")
        reset(term: term)
        leader = id
        role = .leader
        leaseRevoked = false
        heartbeatAcked = [:]
        progress[id]?.becomeReplicate()
        // The empty entry of a new term: committing it commits everything before (§5.4.2).
        appendAsLeader([Entry(term: term, index: 0, kind: .normal, data: [])])
    }

    // MARK: Elections

    /// Starts an election now, as if the election timeout elapsed (with pre-vote when configured).
    public mutating func campaign() {
        campaign(transfer: false)
    }

    mutating func campaign(transfer: Bool) {
        guard isPromotable, role != .leader else { return }
        let preVote = config.preVote && !transfer
        let voteTerm: UInt64
        if preVote {
            becomePreCandidate()
            voteTerm = term + 1
        } else {
            becomeCandidate()
            voteTerm = term
        }
        if recordVote(from: id, granted: true) == .won {
            if preVote {
                campaign(transfer: true)
            } else {
                becomeLeader()
            }
            return
        }
        let lastIndex = log.lastIndex, lastTerm = log.lastTerm
        for voter in confState.voters where voter != id {
            send(Message(
                type: preVote ? .preVote : .vote, to: voter, term: voteTerm,
                logTerm: lastTerm, index: lastIndex, leadershipTransfer: transfer
            ))
        }
    }

    enum VoteResult { case pending, won, lost }

    mutating func recordVote(from voter: NodeID, granted: Bool) -> VoteResult {
        if votes[voter] == nil { votes[voter] = granted }
        var yes = 0, no = 0
        for v in confState.voters {
            switch votes[v] {
            case true?: yes += 1
            case false?: no += 1
            case nil: break
            }
        }
        let quorum = confState.quorum
        if yes >= quorum { return .won }
        if no > confState.voters.count - quorum { return .lost }
        return .pending
    }

    // MARK: Messages in

    /// Handles a message from another replica.
    public mutating func step(_ m: Message) {
        guard m.to == id, m.from != 0, m.from != id else { return }
        if m.term > term {
            if m.isVoteRequest {
                let inLease = config.checkQuorum && leader != 0 && electionElapsed < config.electionTick
                if inLease && !m.leadershipTransfer { return }
            }
            switch m.type {
            case .preVote:
                break  // never adopt a term for a pre-vote
            case .preVoteResponse where !m.reject:
                break  // granted pre-votes carry the future term we asked about
            case .append, .heartbeat, .snapshot:
                becomeFollower(term: m.term, leader: m.from)
            default:
                becomeFollower(term: m.term, leader: 0)
            }
        } else if m.term < term {
            if (config.checkQuorum || config.preVote) && (m.type == .heartbeat || m.type == .append) {
                // Tell a stale leader about the new term so it steps down.
                send(Message(type: .appendResponse, to: m.from, term: term))
            } else if m.type == .preVote {
                send(Message(type: .preVoteResponse, to: m.from, term: term, reject: true))
            }
            return
        }

        switch m.type {
        case .vote, .preVote:
            handleVoteRequest(m)
            return
        default:
            break
        }
        switch role {
        case .leader: stepLeader(m)
        case .candidate, .preCandidate: stepCandidate(m)
        case .follower: stepFollower(m)
        }
    }

    mutating func handleVoteRequest(_ m: Message) {
        let canVote = vote == m.from || (vote == 0 && leader == 0) || (m.type == .preVote && m.term > term)
        let responseType: MessageType = m.type == .vote ? .voteResponse : .preVoteResponse
        if canVote && log.isUpToDate(lastIndex: m.index, term: m.logTerm) {
            send(Message(type: responseType, to: m.from, term: m.term))
            if m.type == .vote {
                electionElapsed = 0
                vote = m.from
            }
        } else {
            send(Message(type: responseType, to: m.from, term: term, reject: true))
        }
    }

    mutating func stepCandidate(_ m: Message) {
        let myResponse: MessageType = role == .preCandidate ? .preVoteResponse : .voteResponse
        switch m.type {
        case .append:
            becomeFollower(term: m.term, leader: m.from)
            handleAppend(m)
        case .heartbeat:
            becomeFollower(term: m.term, leader: m.from)
            handleHeartbeat(m)
        case .snapshot:
            becomeFollower(term: m.term, leader: m.from)
            handleSnapshotChunk(m)
        case myResponse:
            switch recordVote(from: m.from, granted: !m.reject) {
            case .won:
                if role == .preCandidate {
                    campaign(transfer: true)
                } else {
                    becomeLeader()
                }
            case .lost:
                becomeFollower(term: term, leader: 0)
            case .pending:
                break
            }
        default:
            break
        }
    }

    mutating func stepFollower(_ m: Message) {
        switch m.type {
        case .append:
            electionElapsed = 0
            leader = m.from
            handleAppend(m)
        case .heartbeat:
            electionElapsed = 0
            leader = m.from
            handleHeartbeat(m)
        case .snapshot:
            electionElapsed = 0
            leader = m.from
            handleSnapshotChunk(m)
        case .timeoutNow:
            campaign(transfer: true)
        case .readIndexResponse:
            readStates.append(ReadState(index: m.index, context: m.context))
        case .proposeResponse where m.reject:
            let reason: RaftError = m.rejectHint != 0
                ? .leadershipTransferInProgress(to: m.rejectHint)
                : .proposalQueueFull(uncommittedBytes: m.index, limit: m.commit)
            refusedProposals.append(RefusedProposal(context: m.context, reason: reason))
        default:
            break
        }
    }

    // MARK: Messages out

    mutating func send(_ message: Message) {
        var m = message
        m.from = id
        if m.term == 0 { m.term = term }
        messages.append(m)
    }
}
