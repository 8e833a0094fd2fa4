/// A replica's role.
public enum RaftRole: Sendable, Hashable {
    case follower
    case preCandidate
    case candidate
    case leader
}

/// State that need not be persisted: who leads, and this replica's role.
public struct SoftState: Sendable, Hashable {
    public var leader: NodeID
    public var role: RaftRole
}

/// A linearizable read may proceed once the application has applied `index`.
public struct ReadState: Sendable, Hashable {
    public var index: UInt64
    /// The tag the read was requested with.
    public var context: [UInt8]
}

/// A proposal forwarded to the leader (``RaftNode/proposeTagged(_:context:)``)
/// that the leader refused: it was not appended and never will be.
public struct RefusedProposal: Sendable, Hashable {
    /// The context it was proposed with.
    public var context: [UInt8]
    /// Why: `proposalQueueFull` or `leadershipTransferInProgress`.
    public var reason: RaftError
}

/// Where an entry sits in the log: a proposal is committed exactly when the
/// committed entry at `index` has `term`.
public struct LogPosition: Sendable, Hashable, Comparable {
    public var index: UInt64
    public var term: UInt64

    public init(index: UInt64, term: UInt64) {
        self.index = index
        self.term = term
    }

    public static func < (a: LogPosition, b: LogPosition) -> Bool {
        (a.index, a.term) < (b.index, b.term)
    }
}

/// Work the application must do, in this order:
/// 1. persist `snapshot` (if any), `entries` and `hardState` (sync when `mustSync`);
/// 2. send `messages`;
/// 3. apply `snapshot` (if any), then `committedEntries`; serve `readStates`
///    once applied to their index;
/// 4. call `advance(_:)` with this value.
public struct Ready: Sendable {
    /// Set when the leader or role changed since the last `Ready`.
    public var softState: SoftState?
    /// Set when the hard state changed and must be persisted.
    public var hardState: HardState?
    public var readStates: [ReadState] = []
    /// Forwarded proposals the leader refused; fail their callers.
    public var refusedProposals: [RefusedProposal] = []
    /// Entries to append to storage (they may replace a suffix of it).
    public var entries: [Entry] = []
    /// A snapshot to persist and install.
    public var snapshot: Snapshot?
    /// Entries committed and ready to apply.
    public var committedEntries: [Entry] = []
    public var messages: [Message] = []
    /// Whether the writes must reach stable storage before messages are sent.
    public var mustSync = false
    /// Whether this replica led when it handed the Ready out.
    public var fromLeader = false

    /// The messages that may leave before the writes are done, and those that
    /// must wait for them. A leader's need not wait (§10.2.1 of the
    /// dissertation): what it commits meanwhile counts its own entries, but
    /// leaves only in a later Ready, after the writes; and a leader's Ready
    /// never carries a new term or vote. A follower's forwarded proposals and
    /// read requests promise nothing about its log.
    public var messagesByWrite: (before: [Message], after: [Message]) {
        if fromLeader && snapshot == nil { return (messages, []) }
        func independent(_ m: Message) -> Bool { m.type == .propose || m.type == .readIndex }
        guard messages.contains(where: independent) else { return ([], messages) }
        return (messages.filter(independent), messages.filter { !independent($0) })
    }

    /// Whether the `Ready` asks for nothing.
    public var isEmpty: Bool {
        softState == nil && hardState == nil && readStates.isEmpty && refusedProposals.isEmpty && entries.isEmpty
            && snapshot == nil && committedEntries.isEmpty && messages.isEmpty
    }
}
