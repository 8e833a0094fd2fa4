import Logging
import NIOCore
import NIOPosix
import NIOSSL
import RaftCore
import Synchronization

/// The connection to one peer: one TCP link to its Raft port per ``Lane``
/// (see ``RaftLink``). Each lane drains its own bounded queue into its link;
/// a failed link is reopened after a jittered exponential backoff, and the
/// messages it held are lost (Raft resends). The peer is known by its gRPC
/// address, and asked there for its Raft port.
final class PeerConnection: Sendable {
    let id: NodeID
    let address: PeerAddress
    private let queues: [OutboundQueue]
    private let configuration: PeerTransport.Configuration
    private let security: TransportSecurityConfiguration
    private let counters: Mutex<Counters>
    private let logger: Logger
    private let closed = Signal()
    /// The peer's Raft port, once it told us; forgotten when a dial fails.
    private let raftPort = Mutex<Int?>(nil)
    private let tlsContext = Mutex<NIOSSLContext?>(nil)

    private struct Counters {
        var messagesSent = [0, 0]
        var batchesSent = [0, 0]
        var linkFailures = 0
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

    /// Stops the connection: queues close and links close (at once: a lane
    /// waiting on a peer that stopped reading is cancelled).
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
        stats.linkFailures = counters.linkFailures
        stats.lastError = counters.lastError
        return stats
    }

    /// Runs until ``close()`` or cancellation.
    func run() async {
        // With no loop (nil), no preference: Swift's pool.
        await withTaskExecutorPreference(configuration.eventLoop.map(EventLoopTaskExecutor.init)) {
            await withDiscardingTaskGroup { group in
                for lane in Lane.allCases {
                    group.addTask { await self.runLane(lane) }
                }
                await closed.wait()
                group.cancelAll()
            }
        }
    }

    /// Keeps a link to the peer's Raft port open and drains the lane's queue
    /// into it; reconnects (asking the peer for its port again when a dial
    /// fails) after a jittered backoff.
    private func runLane(_ lane: Lane) async {
        let queue = queues[lane.rawValue]
        var backoff = configuration.backoff
        let sender = configuration.localID
        let loop = configuration.eventLoop ?? MultiThreadedEventLoopGroup.singleton.next()
        // A batch taken when the link had just closed is kept for the next
        // link (Raft ignores whatever has gone stale by then).
        var carried: [Message]?
        while !queue.isClosed && !Task.isCancelled {
            let link: RaftLink
            do {
                link = try await dial(loop: loop)
            } catch {
                if Task.isCancelled { return }
                raftPort.withLock { $0 = nil }
                record(failure: error)
                let delay = backoff.next()
                logger.debug("\(lane) link failed, retrying in \(delay): \(error)")
                do { try await Task.sleep(for: delay) } catch { return }
                continue
            }
            var delivered = false
            while true {
                let next: [Message]?
                if let carried { next = carried } else { next = await queue.nextBatch() }
                guard let batch = next, !queue.isClosed else {
                    link.close()
                    return
                }
                guard await link.writable() else {
                    carried = batch
                    break
                }
                carried = nil
                do {
                    link.write(try RaftFrame.batch(batch, sender: sender, allocator: link.channel.allocator))
                    delivered = true
                    record(sent: batch.count, lane: lane)
                } catch {
                    logger.error("cannot encode a Raft batch: \(error)")
                }
            }
            if Task.isCancelled { return }
            let failure = link.failure ?? RaftLinkClosed()
            record(failure: failure)
            if delivered { backoff.reset() }
            let delay = backoff.next()
            logger.debug("\(lane) link closed, reconnecting in \(delay): \(failure)")
            do { try await Task.sleep(for: delay) } catch { return }
        }
    }

    /// A new link to the peer's Raft port, asking the peer (over gRPC) for
    /// the port unless it is known.
    private func dial(loop: any EventLoop) async throws -> RaftLink {
        let port: Int
        if let known = raftPort.withLock({ $0 }) {
            port = known
        } else {
            port = try await RaftService.raftPort(of: address, security: security, timeout: configuration.keepaliveTimeout)
            raftPort.withLock { $0 = port }
        }
        return try await RaftLink.connect(
            host: address.host, port: port, tls: try tls(), serverName: security.serverName, loop: loop,
            keepalive: (configuration.keepaliveInterval, configuration.keepaliveTimeout)
        )
    }

    /// The TLS context for this peer's links, made once.
    private func tls() throws -> NIOSSLContext? {
        guard security.isTLS else { return nil }
        return try tlsContext.withLock { context in
            if let context { return context }
            let made = try security.raftClientContext()
            context = made
            return made
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
            $0.linkFailures += 1
            $0.lastError = "\(error)"
        }
    }
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
