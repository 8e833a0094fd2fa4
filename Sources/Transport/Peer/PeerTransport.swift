import Logging
import NIOCore
import RaftCore
import Synchronization

/// Sends Raft messages to the other servers of the group.
///
/// One connection per peer, each with two lanes (see ``Lane``): heartbeats,
/// votes and responses never wait behind appends or snapshot chunks. Messages
/// are batched per peer and lane. Sending never blocks: each lane has a
/// bounded queue, and a message that does not fit is dropped and counted, as
/// Raft tolerates loss. A failed stream is reopened after jittered exponential
/// backoff.
///
/// Call ``run()`` in a task for as long as the transport is needed; peers may
/// be added and removed at any time.
public final class PeerTransport: Sendable {
    /// Tuning for every peer connection.
    public struct Configuration: Sendable {
        /// This server's Raft node ID (stamped on each batch).
        public var localID: NodeID
        public var priorityLimits: QueueLimits = .priority
        public var bulkLimits: QueueLimits = .bulk
        /// Backoff between failed links (and between connection attempts).
        public var backoff: Backoff = Backoff()
        /// TCP keepalive finds a dead peer: probes after `keepaliveInterval`
        /// idle, the link given up when a probe goes unanswered for
        /// `keepaliveTimeout`, or written data for both together. The timeout
        /// also bounds asking a peer for its Raft port.
        public var keepaliveInterval: Duration = .seconds(10)
        public var keepaliveTimeout: Duration = .seconds(5)
        /// The loop every connection and lane runs on: the Raft driver's, so
        /// a `Ready`'s messages reach the socket without a thread hand-off
        /// (see ``EventLoopTaskExecutor``). Nil: SwiftNIO's shared loops and
        /// Swift's pool.
        public var eventLoop: (any EventLoop)?

        public init(localID: NodeID) {
            self.localID = localID
        }
    }

    private struct State {
        var peers: [NodeID: PeerConnection] = [:]
        var unknownPeerDrops = 0
        var shutDown = false
    }

    private let configuration: Configuration
    private let security: TransportSecurityConfiguration
    private let logger: Logger
    private let state = Mutex(State())
    private let started: AsyncStream<PeerConnection>
    private let startedContinuation: AsyncStream<PeerConnection>.Continuation

    /// - Parameters:
    ///   - security: With TLS, peers must present `server.<region>.caravan` certificates.
    public init(configuration: Configuration, security: TransportSecurityConfiguration, logger: Logger = Logger(label: "caravan.transport.peers")) {
        self.configuration = configuration
        self.security = security
        self.logger = logger
        (started, startedContinuation) = AsyncStream.makeStream()
    }

    /// Adds a peer, or moves it to a new address (its queued messages are then discarded).
    public func setPeer(_ id: NodeID, address: PeerAddress) {
        let (added, removed) = state.withLock { state -> (PeerConnection?, PeerConnection?) in
            guard !state.shutDown else { return (nil, nil) }
            if let existing = state.peers[id], existing.address == address { return (nil, nil) }
            let connection = PeerConnection(id: id, address: address, configuration: configuration, security: security, logger: logger)
            let old = state.peers.updateValue(connection, forKey: id)
            return (connection, old)
        }
        removed?.close()
        if let added { startedContinuation.yield(added) }
    }

    /// Removes a peer; its queued messages are discarded.
    public func removePeer(_ id: NodeID) {
        state.withLock { $0.peers.removeValue(forKey: id) }?.close()
    }

    /// The peers and their addresses.
    public var peers: [NodeID: PeerAddress] {
        state.withLock { $0.peers.mapValues(\.address) }
    }

    /// Queues a message for `message.to`. Never blocks.
    /// - Returns: false when the message was dropped: unknown peer, or its lane's queue is full.
    @discardableResult
    public func send(_ message: Message) -> Bool {
        let connection = state.withLock { state -> PeerConnection? in
            if let connection = state.peers[message.to] { return connection }
            state.unknownPeerDrops += 1
            return nil
        }
        return connection?.enqueue(message) ?? false
    }

    /// Queues each message for its recipient (what `Ready.messages` holds).
    public func send(_ messages: some Sequence<Message>) {
        for message in messages { send(message) }
    }

    /// Per-peer counters.
    public var statistics: [NodeID: PeerStatistics] {
        state.withLock { $0.peers }.mapValues(\.statistics)
    }

    /// Messages dropped because no peer with their `to` was set.
    public var unknownPeerDrops: Int { state.withLock { $0.unknownPeerDrops } }

    /// Runs every peer connection until ``shutdown()`` or cancellation.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for await connection in started {
                group.addTask { await connection.run() }
            }
            // Shut down (or cancelled): stop whatever still runs.
            for connection in state.withLock({ $0.peers.values }) { connection.close() }
        }
    }

    /// Closes every connection and ends ``run()``.
    public func shutdown() {
        let connections = state.withLock { state -> [PeerConnection] in
            state.shutDown = true
            defer { state.peers.removeAll() }
            return Array(state.peers.values)
        }
        for connection in connections { connection.close() }
        startedContinuation.finish()
    }
}
