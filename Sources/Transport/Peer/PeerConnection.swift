import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import NIOCore
import NIOPosix
import RaftCore
import Synchronization

/// The connection to one peer: one HTTP/2 connection (reconnected by the gRPC
/// client), carrying one long-lived `Send` stream per ``Lane``. Each lane
/// drains its own bounded queue; a failed stream is reopened after a jittered
/// exponential backoff, and the messages it held are lost (Raft resends).
final class PeerConnection: Sendable {
    let id: NodeID
    let address: PeerAddress
    private let queues: [OutboundQueue]
    private let configuration: PeerTransport.Configuration
    private let security: TransportSecurityConfiguration
    private let counters: Mutex<Counters>
    private let logger: Logger
    private let closed = Signal()

    private struct Counters {
        var messagesSent = [0, 0]
        var batchesSent = [0, 0]
        var streamFailures = 0
        var lastError: String?
    }

    init(id: NodeID, address: PeerAddress, configuration: PeerTransport.Configuration, security: TransportSecurityConfiguration, logger: Logger) {
        self.id = id
        self.address = address
        self.configuration = configuration
        self.security = security
        self.queues = Lane.allCases.map { lane in
            OutboundQueue(limits: lane == .priority ? configuration.priorityLimits : configuration.bulkLimits)
        }
        self.counters = Mutex(Counters())
        var logger = logger
        logger[metadataKey: "peer"] = "\(id)@\(address)"
        self.logger = logger
    }

    /// Queues a message on its lane; false when dropped.
    func enqueue(_ message: Message) -> Bool {
        queues[Lane.of(message).rawValue].push(message)
    }

    /// Stops the connection: queues close, streams end, the client shuts down
    /// (at once: a stream stuck behind a peer that stopped reading is cancelled).
    func close() {
        for queue in queues { queue.close() }
        closed.signal()
    }

    var statistics: PeerStatistics {
        var stats = PeerStatistics()
        let counters = self.counters.withLock { $0 }
        for lane in Lane.allCases {
            stats.messagesSent[lane] = counters.messagesSent[lane.rawValue]
            stats.batchesSent[lane] = counters.batchesSent[lane.rawValue]
            stats.messagesDropped[lane] = queues[lane.rawValue].dropped
            stats.queued[lane] = queues[lane.rawValue].count
        }
        stats.streamFailures = counters.streamFailures
        stats.lastError = counters.lastError
        return stats
    }

    /// Runs until ``close()`` or cancellation.
    func run() async {
        // With no loop (nil), no preference: Swift's pool.
        await withTaskExecutorPreference(configuration.eventLoop.map(EventLoopTaskExecutor.init)) {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.runClient() }
                await closed.wait()
                group.cancelAll()
            }
        }
    }

    private func runClient() async {
        let transport: HTTP2ClientTransport.Posix
        do {
            transport = try HTTP2ClientTransport.Posix(
                target: .dns(host: address.host, port: address.port),
                transportSecurity: security.clientSecurity,
                config: .defaults { config in
                    config.http2.authority = security.clientAuthority
                    config.channelDebuggingCallbacks.onCreateTCPConnection = security.dialedConnectionInitializer
                    config.backoff = .init(
                        initial: configuration.backoff.initial, max: configuration.backoff.maximum,
                        multiplier: configuration.backoff.multiplier, jitter: configuration.backoff.jitter
                    )
                    config.connection.keepalive = .init(time: configuration.keepaliveInterval, timeout: configuration.keepaliveTimeout, allowWithoutCalls: true)
                    // Each lane already writes a batch of messages at once;
                    // holding its flush for more (up to 100 µs by default)
                    // only delays every append and commit.
                    config.connection.flushCoalescing = nil
                },
                eventLoopGroup: configuration.eventLoop ?? MultiThreadedEventLoopGroup.singleton
            )
        } catch {
            logger.error("cannot create a client transport: \(error)")
            record(failure: error)
            return
        }
        do {
            try await withGRPCClient(transport: transport) { client in
                let raft = Caravan_Raft_V1_RaftTransport.Client(wrapping: client)
                await withDiscardingTaskGroup { group in
                    for lane in Lane.allCases {
                        group.addTask { await self.runLane(lane, raft: raft) }
                    }
                }
            }
        } catch {
            logger.debug("client stopped: \(error)")
        }
    }

    private func runLane(_ lane: Lane, raft: Caravan_Raft_V1_RaftTransport.Client<HTTP2ClientTransport.Posix>) async {
        let queue = queues[lane.rawValue]
        var backoff = configuration.backoff
        var options = CallOptions.defaults
        options.waitForReady = false
        let sender = configuration.localID
        // A batch whose stream failed before it was written is kept for the
        // next stream (Raft ignores whatever has gone stale by then).
        var carried: [Message]?
        while true {
            let next: [Message]?
            if let carried { next = carried } else { next = await queue.nextBatch() }
            guard let first = next, !queue.isClosed else { return }
            carried = nil
            let delivered = DeliveryFlag()
            do {
                try await raft.send(
                    options: options,
                    requestProducer: { writer in
                        var batch: [Message]? = first
                        while let messages = batch {
                            var wire = Caravan_Raft_V1_MessageBatch()
                            wire.sender = sender
                            wire.messages = messages.map(Caravan_Raft_V1_Message.init)
                            try await writer.write(wire)
                            delivered.set()
                            self.record(sent: messages.count, lane: lane)
                            batch = await queue.nextBatch()
                        }
                    }
                ) { response in
                    _ = try response.message
                }
            } catch {
                if Task.isCancelled { return }
                record(failure: error)
                if delivered.isSet { backoff.reset() } else { carried = first }
                let delay = backoff.next()
                logger.debug("\(lane) stream failed, retrying in \(delay): \(error)")
                do { try await Task.sleep(for: delay) } catch { return }
            }
        }
    }

    private func record(sent count: Int, lane: Lane) {
        counters.withLock {
            $0.messagesSent[lane.rawValue] += count
            $0.batchesSent[lane.rawValue] += 1
        }
    }

    private func record(failure error: any Error) {
        counters.withLock {
            $0.streamFailures += 1
            $0.lastError = "\(error)"
        }
    }
}

/// Whether a stream delivered anything before it failed (a success resets the backoff).
private final class DeliveryFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}

/// Fires once; waiters return when it has fired or their task is cancelled.
final class Signal: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func signal() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.fired = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.fired || Task.isCancelled { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            signal()
        }
    }
}
