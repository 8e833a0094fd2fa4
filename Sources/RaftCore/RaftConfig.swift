/// How reads obtain linearizability.
public enum ReadOnlyOption: Sendable, Hashable {
    /// ReadIndex: the leader confirms with a quorum of heartbeats that it still leads.
    case safe
    /// The leader answers from its lease without a round trip. Relies on
    /// bounded clock drift; needs `checkQuorum`.
    case leaseBased
}

/// The parameters of one replica.
public struct RaftConfig: Sendable, Hashable {
    /// This replica's identity; must not be 0.
    public var id: NodeID
    /// Ticks without hearing from a leader before a follower campaigns; the
    /// actual timeout is drawn from [electionTick, 2 × electionTick).
    public var electionTick: Int = 10
    /// Ticks between a leader's heartbeats; must be less than `electionTick`.
    public var heartbeatTick: Int = 1
    /// Seeds the generator that draws election timeouts. Use distinct seeds per replica.
    public var seed: UInt64
    /// Upper bound on the bytes of entries in one append message.
    public var maxSizePerMessage: UInt64 = 1 << 20
    /// Upper bound on the number of entries in one append message.
    public var maxEntriesPerMessage: Int = 4096
    /// Append messages in flight to one follower at a time (the pipeline window).
    public var maxInflightMessages: Int = 256
    /// Bytes in flight to one follower at a time; 0 means no byte limit.
    public var maxInflightBytes: UInt64 = 0
    /// Bytes proposed but not committed beyond which `propose` fails; 0 means no limit.
    public var maxUncommittedBytes: UInt64 = 64 << 20
    /// Upper bound on the bytes of committed entries handed out by one `Ready`.
    public var maxCommittedBytesPerReady: UInt64 = 64 << 20
    /// Size of one snapshot chunk.
    public var snapshotChunkBytes: UInt64 = 1 << 20
    /// Snapshot chunks in flight to one follower at a time.
    public var maxInflightSnapshotChunks: Int = 4
    /// Campaign only after a pre-vote shows a quorum would grant the vote.
    public var preVote: Bool = true
    /// A leader that has not heard from a quorum for an election timeout steps
    /// down, and voters ignore campaigns while they hear from a leader.
    public var checkQuorum: Bool = true
    public var readOnlyOption: ReadOnlyOption = .safe
    /// The last index the application applied before a restart; entries up to
    /// it are not handed out again.
    public var applied: UInt64 = 0

    public init(id: NodeID, seed: UInt64) {
        self.id = id
        self.seed = seed
    }

    /// Problems that make this configuration unusable, if any.
    public func validate() -> String? {
        if id == 0 { return "id must not be 0" }
        if heartbeatTick <= 0 { return "heartbeatTick must be greater than 0" }
        if electionTick <= heartbeatTick { return "electionTick must be greater than heartbeatTick" }
        if maxInflightMessages <= 0 { return "maxInflightMessages must be greater than 0" }
        if maxEntriesPerMessage <= 0 { return "maxEntriesPerMessage must be greater than 0" }
        if snapshotChunkBytes == 0 { return "snapshotChunkBytes must be greater than 0" }
        if maxInflightSnapshotChunks <= 0 { return "maxInflightSnapshotChunks must be greater than 0" }
        if readOnlyOption == .leaseBased && !checkQuorum { return "lease-based reads require checkQuorum" }
        return nil
    }
}

/// A small, fast, seedable generator (SplitMix64). RaftCore draws all its
/// randomness from one, so equal seeds give equal runs.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Hashable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
