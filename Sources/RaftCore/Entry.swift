/// A replica's identity in a Raft group. Zero means "none".
public typealias NodeID = UInt64

/// What a log entry carries: an application command, or a membership change
/// that RaftCore itself interprets.
public enum EntryKind: UInt8, Sendable, Hashable {
    /// An application command (or the leader's empty entry on election).
    case normal = 0
    /// An encoded `ConfChange`.
    case confChange = 1
    /// An application command proposed with ``RaftNode/proposeTagged(_:context:)``:
    /// its data begins with a tag its proposer chose, by which the proposer
    /// recognizes it when applying, wherever the leader appended it. The
    /// tag's layout is the application's; RaftCore treats it as `.normal`.
    case tagged = 2
}

/// One entry of the replicated log.
public struct Entry: Sendable, Hashable {
    public var term: UInt64
    public var index: UInt64
    public var kind: EntryKind
    public var data: [UInt8]

    public init(term: UInt64, index: UInt64, kind: EntryKind = .normal, data: [UInt8] = []) {
        self.term = term
        self.index = index
        self.kind = kind
        self.data = data
    }

    /// The size counted against byte limits: payload plus a fixed header.
    @inlinable
    public var byteSize: UInt64 { UInt64(data.count) + 24 }
}

extension Sequence where Element == Entry {
    /// Sum of `byteSize` over the entries.
    @inlinable
    public var byteSize: UInt64 {
        var total: UInt64 = 0
        for entry in self { total &+= entry.byteSize }
        return total
    }
}

extension ArraySlice where Element == Entry {
    /// The prefix whose byte size stays within `maxBytes`, never empty when
    /// the slice is not: what `RaftStorage.entries` returns.
    public func prefix(maxBytes: UInt64) -> [Entry] {
        var total: UInt64 = 0
        var end = startIndex
        for entry in self {
            total &+= entry.byteSize
            if total > maxBytes && end > startIndex { break }
            end += 1
        }
        return Array(self[startIndex..<end])
    }
}

/// The state a replica must persist before it answers any message: the term,
/// whom it voted for in that term, and how far it knows the log is committed.
public struct HardState: Sendable, Hashable {
    public var term: UInt64
    /// The candidate voted for in `term`, or 0.
    public var vote: NodeID
    public var commit: UInt64

    public init(term: UInt64 = 0, vote: NodeID = 0, commit: UInt64 = 0) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }

    public var isEmpty: Bool { term == 0 && vote == 0 && commit == 0 }
}

/// The membership of a group: voters elect and count toward commit; learners
/// only receive the log.
public struct ConfState: Sendable, Hashable {
    /// Sorted, without duplicates.
    public private(set) var voters: [NodeID]
    /// Sorted, without duplicates, disjoint from `voters`.
    public private(set) var learners: [NodeID]

    public init(voters: [NodeID] = [], learners: [NodeID] = []) {
        self.voters = Array(Set(voters)).sorted()
        self.learners = Array(Set(learners).subtracting(voters)).sorted()
    }

    public func isVoter(_ id: NodeID) -> Bool { voters.contains(id) }
    public func isLearner(_ id: NodeID) -> Bool { learners.contains(id) }
    public func contains(_ id: NodeID) -> Bool { isVoter(id) || isLearner(id) }

    /// Every member, voters first.
    public var members: [NodeID] { voters + learners }

    /// The number of voters that make a majority.
    public var quorum: Int { voters.count / 2 + 1 }

    /// The membership after `change`. Adding a voter that is a learner
    /// promotes it; adding a learner that is a voter demotes it.
    public func applying(_ change: ConfChange) -> ConfState {
        var voters = Set(self.voters)
        var learners = Set(self.learners)
        switch change.type {
        case .addVoter:
            learners.remove(change.nodeID)
            voters.insert(change.nodeID)
        case .addLearner:
            voters.remove(change.nodeID)
            learners.insert(change.nodeID)
        case .removeNode:
            voters.remove(change.nodeID)
            learners.remove(change.nodeID)
        }
        return ConfState(voters: Array(voters), learners: Array(learners))
    }
}

/// A single-server membership change. RaftCore allows one uncommitted change
/// at a time, and none before a new leader has committed an entry of its own
/// term, so any two majorities of consecutive configurations overlap.
public struct ConfChange: Sendable, Hashable {
    public enum ChangeType: UInt8, Sendable, Hashable {
        /// Add a voter, or promote a learner to voter.
        case addVoter = 0
        /// Add a learner, or demote a voter to learner.
        case addLearner = 1
        case removeNode = 2
    }

    public var type: ChangeType
    public var nodeID: NodeID
    /// Opaque to RaftCore: for example the new member's address.
    public var context: [UInt8]

    public init(_ type: ChangeType, _ nodeID: NodeID, context: [UInt8] = []) {
        self.type = type
        self.nodeID = nodeID
        self.context = context
    }

    /// Compact binary form stored in a `.confChange` entry.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = [type.rawValue]
        out.reserveCapacity(9 + context.count)
        withUnsafeBytes(of: nodeID.littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: context)
        return out
    }

    /// Decodes the form `encoded()` writes.
    public init(decoding bytes: [UInt8]) throws(RaftError) {
        guard bytes.count >= 9, let type = ChangeType(rawValue: bytes[0]) else {
            throw .invalidConfChange
        }
        var id: UInt64 = 0
        for i in 0..<8 { id |= UInt64(bytes[1 + i]) << (8 * UInt64(i)) }
        self.init(type, id, context: Array(bytes[9...]))
    }
}
