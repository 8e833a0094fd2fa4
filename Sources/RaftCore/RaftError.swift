/// Why RaftCore refused a request.
public enum RaftError: Error, Sendable, Hashable {
    /// This replica does not lead; `leader` is the one it knows of (0 if none).
    case notLeader(leader: NodeID)
    /// Too many bytes are proposed but not yet committed; retry after some commit.
    case proposalQueueFull(uncommittedBytes: UInt64, limit: UInt64)
    /// A leadership transfer is under way; proposals resume once it ends.
    case leadershipTransferInProgress(to: NodeID)
    /// A membership change is still uncommitted, or this leader has not yet
    /// committed an entry of its own term.
    case confChangeInProgress
    /// The change would leave the group without voters, or names node 0.
    case invalidConfChange
    /// The named node is not a member of the group.
    case unknownNode(NodeID)
    /// The configuration cannot work; the text says why.
    case invalidConfig(String)
    /// The storage could not answer.
    case storage(RaftStorageError)
}
