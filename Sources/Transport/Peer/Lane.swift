import RaftCore

/// One of the two links a peer connection keeps. Messages on different lanes
/// may overtake each other; within a lane they keep their order.
public enum Lane: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Small, latency-critical messages: heartbeats, votes, responses, reads.
    case priority
    /// Messages that may be large: appends and snapshot chunks.
    case bulk

    /// The lane a message travels on.
    public static func of(_ message: Message) -> Lane {
        switch message.type {
        case .append, .snapshot: .bulk
        // A forwarded write is latency-critical, but a large one would hold up heartbeats.
        case .propose: message.estimatedWireSize > 16 << 10 ? .bulk : .priority
        default: .priority
        }
    }

    public var description: String { self == .priority ? "priority" : "bulk" }
}

extension Message {
    /// An estimate of the message's wire size, for byte limits on queues and batches.
    @inlinable
    var estimatedWireSize: Int {
        var size = 48 + context.count
        for entry in entries { size += entry.data.count + 16 }
        if let snapshot { size += snapshot.data.count + 48 + 9 * snapshot.metadata.confState.members.count }
        return size
    }
}
