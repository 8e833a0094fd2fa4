import RaftCore

/// Sends Raft messages to peers. Must not block: Raft tolerates loss, so a
/// full queue drops.
public protocol RaftMessageSender: Sendable {
    func send(_ messages: [Message])
}

/// The application replicated by Raft.
public protocol ReplicatedStateMachine: AnyObject, SendableMetatype {
    /// The result an applied command hands back to its proposer.
    associatedtype Output: Sendable
    /// A command as it was before it was encoded into an entry's data.
    associatedtype Command: Sendable

    /// Applies one committed normal entry (never an empty or membership entry).
    /// `proposed` is the command this replica proposed as that very entry
    /// (same index and term), when it did: the entry's data is its encoding,
    /// so the proposer may apply it without decoding what it just encoded.
    func apply(_ entry: Entry, proposed: Command?) -> Output

    /// The whole state as of now, to be restored by `restore`: this call
    /// captures it (cheaply: a copy-on-write value, not an encoding), and the
    /// returned function encodes it. The driver encodes off its loop, so a
    /// large state does not stall replication while it is written out.
    func snapshot() -> @Sendable () -> [UInt8]

    /// Replaces the whole state with a snapshot's.
    func restore(_ data: [UInt8]) throws

    /// Sees a committed membership change (its context, for example the new
    /// member's address). The default ignores it.
    func applyMembershipChange(_ change: ConfChange, at index: UInt64)
}

extension ReplicatedStateMachine {
    public func applyMembershipChange(_ change: ConfChange, at index: UInt64) {}
}
