import Foundation
import RaftCore

// The mapping between RaftCore's values and their protobuf form. Encoding never
// fails; decoding fails only on enum values this version does not know.

extension Caravan_Raft_V1_Message {
    /// The wire form of `message`.
    public init(_ message: RaftCore.Message) {
        self.init()
        type = Caravan_Raft_V1_MessageType(message.type)
        from = message.from
        to = message.to
        term = message.term
        logTerm = message.logTerm
        index = message.index
        if !message.entries.isEmpty {
            entries = message.entries.map(Caravan_Raft_V1_Entry.init)
        }
        commit = message.commit
        reject = message.reject
        rejectHint = message.rejectHint
        if !message.context.isEmpty { context = Data(message.context) }
        leadershipTransfer = message.leadershipTransfer
        if let chunk = message.snapshot { snapshot = Caravan_Raft_V1_SnapshotChunk(chunk) }
    }
}

extension RaftCore.Message {
    /// The RaftCore value of a wire message.
    public init(wire: Caravan_Raft_V1_Message) throws(WireDecodingError) {
        let type = try MessageType(wire: wire.type)
        var entries: [Entry] = []
        entries.reserveCapacity(wire.entries.count)
        for entry in wire.entries { entries.append(try Entry(wire: entry)) }
        self.init(
            type: type, from: wire.from, to: wire.to, term: wire.term, logTerm: wire.logTerm,
            index: wire.index, entries: entries, commit: wire.commit, reject: wire.reject,
            rejectHint: wire.rejectHint, context: [UInt8](wire.context),
            leadershipTransfer: wire.leadershipTransfer,
            snapshot: wire.hasSnapshot ? SnapshotChunk(wire: wire.snapshot) : nil
        )
    }
}

extension Caravan_Raft_V1_MessageType {
    /// The wire value: RaftCore's raw value plus one (zero means "not set").
    public init(_ type: RaftCore.MessageType) {
        self = Caravan_Raft_V1_MessageType(rawValue: Int(type.rawValue) + 1) ?? .unspecified
    }
}

extension RaftCore.MessageType {
    /// The RaftCore type of a wire value.
    public init(wire: Caravan_Raft_V1_MessageType) throws(WireDecodingError) {
        let raw = wire.rawValue - 1
        guard raw >= 0, raw <= Int(UInt8.max), let type = MessageType(rawValue: UInt8(raw)) else {
            throw .unknownMessageType(wire.rawValue)
        }
        self = type
    }
}

extension Caravan_Raft_V1_Entry {
    /// The wire form of `entry`.
    public init(_ entry: RaftCore.Entry) {
        self.init()
        term = entry.term
        index = entry.index
        switch entry.kind {
        case .normal: kind = .normal
        case .confChange: kind = .confChange
        case .tagged: kind = .tagged
        }
        if !entry.data.isEmpty { data = Data(entry.data) }
    }
}

extension RaftCore.Entry {
    /// The RaftCore value of a wire entry.
    public init(wire: Caravan_Raft_V1_Entry) throws(WireDecodingError) {
        let kind: EntryKind
        switch wire.kind {
        case .normal: kind = .normal
        case .confChange: kind = .confChange
        case .tagged: kind = .tagged
        case .UNRECOGNIZED(let value): throw .unknownEntryKind(value)
        }
        self.init(term: wire.term, index: wire.index, kind: kind, data: [UInt8](wire.data))
    }
}

extension Caravan_Raft_V1_HardState {
    /// The wire form of `state`.
    public init(_ state: RaftCore.HardState) {
        self.init()
        term = state.term
        vote = state.vote
        commit = state.commit
    }
}

extension RaftCore.HardState {
    /// The RaftCore value of a wire hard state.
    public init(wire: Caravan_Raft_V1_HardState) {
        self.init(term: wire.term, vote: wire.vote, commit: wire.commit)
    }
}

extension Caravan_Raft_V1_ConfState {
    /// The wire form of `state`.
    public init(_ state: RaftCore.ConfState) {
        self.init()
        voters = state.voters
        learners = state.learners
    }
}

extension RaftCore.ConfState {
    /// The RaftCore value of a wire membership (sorted and de-duplicated again).
    public init(wire: Caravan_Raft_V1_ConfState) {
        self.init(voters: wire.voters, learners: wire.learners)
    }
}

extension Caravan_Raft_V1_SnapshotMetadata {
    /// The wire form of `metadata`.
    public init(_ metadata: RaftCore.SnapshotMetadata) {
        self.init()
        index = metadata.index
        term = metadata.term
        confState = Caravan_Raft_V1_ConfState(metadata.confState)
    }
}

extension RaftCore.SnapshotMetadata {
    /// The RaftCore value of wire snapshot metadata.
    public init(wire: Caravan_Raft_V1_SnapshotMetadata) {
        self.init(index: wire.index, term: wire.term, confState: ConfState(wire: wire.confState))
    }
}

extension Caravan_Raft_V1_SnapshotChunk {
    /// The wire form of `chunk`.
    public init(_ chunk: RaftCore.SnapshotChunk) {
        self.init()
        metadata = Caravan_Raft_V1_SnapshotMetadata(chunk.metadata)
        offset = chunk.offset
        totalSize = chunk.totalSize
        if !chunk.data.isEmpty { data = Data(chunk.data) }
    }
}

extension RaftCore.SnapshotChunk {
    /// The RaftCore value of a wire snapshot chunk.
    public init(wire: Caravan_Raft_V1_SnapshotChunk) {
        self.init(
            metadata: SnapshotMetadata(wire: wire.metadata), offset: wire.offset,
            totalSize: wire.totalSize, data: [UInt8](wire.data)
        )
    }
}
