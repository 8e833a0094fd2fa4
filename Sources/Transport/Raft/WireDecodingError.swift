/// A wire message that cannot be turned into a RaftCore value.
public enum WireDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The message type is zero (not set) or a number this version does not know.
    case unknownMessageType(Int)
    /// The entry kind is a number this version does not know.
    case unknownEntryKind(Int)

    public var description: String {
        switch self {
        case .unknownMessageType(let value):
            "unknown Raft message type \(value) on the wire: is the peer running a newer Caravan?"
        case .unknownEntryKind(let value):
            "unknown Raft entry kind \(value) on the wire: is the peer running a newer Caravan?"
        }
    }
}
