import RaftCore

/// Which server an inbound Raft connection speaks for.
///
/// Certificates name a role (`server.<region>.caravan`), not a node ID, so the
/// certificate alone cannot say which server a batch is from. What can be
/// held to is consistency: a connection speaks for the first sender ID it
/// names for as long as it lasts, and every message in a batch is from the
/// batch's sender. A plain value; each connection's handler holds one.
struct SenderPin {
    /// Why a batch is refused.
    enum Refusal: Error, Equatable, CustomStringConvertible {
        /// The batch carries messages but names no sender.
        case noSender
        /// A message's `from` is not the batch's sender.
        case messageFromAnother(sender: NodeID, from: NodeID)
        /// The connection already speaks for another server.
        case connectionSpeaksForAnother(pinned: NodeID, claimed: NodeID)

        var description: String {
            switch self {
            case .noSender:
                "the batch carries messages but names no sender"
            case .messageFromAnother(let sender, let from):
                "a message from node \(from) in a batch sent by node \(sender)"
            case .connectionSpeaksForAnother(let pinned, let claimed):
                "this connection speaks for node \(pinned); it cannot send as node \(claimed)"
            }
        }
    }

    /// The sender the connection is pinned to, once a batch with messages named one.
    private(set) var sender: NodeID?

    /// Checks a batch naming `sender` with messages from `messageSenders`;
    /// pins the connection to `sender` on its first batch with messages.
    mutating func admit(sender claimed: NodeID, messageSenders: some Sequence<NodeID>) -> Refusal? {
        var hasMessages = false
        for from in messageSenders {
            hasMessages = true
            if claimed != 0 && from != claimed { return .messageFromAnother(sender: claimed, from: from) }
        }
        guard hasMessages else { return nil }
        guard claimed != 0 else { return .noSender }
        if let sender {
            return sender == claimed ? nil : .connectionSpeaksForAnother(pinned: sender, claimed: claimed)
        }
        sender = claimed
        return nil
    }
}
