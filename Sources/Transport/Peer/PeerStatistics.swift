/// What one peer connection has done so far.
public struct PeerStatistics: Sendable, Hashable {
    /// Messages written to the peer's links, per lane.
    public var messagesSent: [Lane: Int] = [:]
    /// Batches written to the peer's links, per lane.
    public var batchesSent: [Lane: Int] = [:]
    /// Messages dropped because a lane's queue was full, per lane.
    public var messagesDropped: [Lane: Int] = [:]
    /// Messages waiting, per lane.
    public var queued: [Lane: Int] = [:]
    /// Links that failed or could not be opened (each followed by a backoff
    /// and a new link).
    public var linkFailures: Int = 0
    /// The last link failure, if any.
    public var lastError: String?

    public init() {}

    /// Messages sent on both lanes.
    public var totalSent: Int { messagesSent.values.reduce(0, +) }
    /// Messages dropped on both lanes.
    public var totalDropped: Int { messagesDropped.values.reduce(0, +) }
}
