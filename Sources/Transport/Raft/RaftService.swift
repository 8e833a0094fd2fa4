import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import RaftCore
import Synchronization

/// The receiving end of Raft traffic: the `RaftTransport` gRPC service.
///
/// Every call is first checked by its ``PeerAuthorizer`` (with TLS: only
/// `server.<region>.caravan` certificates may send Raft messages). Each batch
/// is decoded and handed to `receive`, which is awaited before the next batch
/// is read, so a slow consumer slows its sender through HTTP/2 flow control
/// rather than buffering without bound. Messages of a type this version does
/// not know are skipped.
///
/// A certificate names a role, not a node, so the batch's `sender` is held to
/// consistency (see `SenderPins`): every message of a batch must be from its
/// sender, and a connection speaks for the first sender it names on all its
/// streams. A batch that breaks either rule ends its stream with
/// `.permissionDenied` and nothing of it is delivered.
public struct RaftService: Caravan_Raft_V1_RaftTransport.SimpleServiceProtocol {
    private let authorizer: PeerAuthorizer
    private let receive: @Sendable ([Message]) async -> Void
    private let executor: EventLoopTaskExecutor?
    private let logger: Logger
    private let pins = PinBoard()

    /// - Parameters:
    ///   - authorizer: Use `.requiring([.server], under: security)`.
    ///   - executor: Where each stream is read and `receive` called: the Raft
    ///     driver's loop, so a batch reaches the driver with no hop through
    ///     Swift's pool. Nil: the pool.
    ///   - receive: Called with each batch's messages, in order per stream.
    public init(
        authorizer: PeerAuthorizer, executor: EventLoopTaskExecutor? = nil,
        logger: Logger = Logger(label: "caravan.transport.raft"),
        receive: @escaping @Sendable ([Message]) async -> Void
    ) {
        self.authorizer = authorizer
        self.executor = executor
        self.receive = receive
        self.logger = logger
    }

    public func send(
        request: RPCAsyncSequence<Caravan_Raft_V1_MessageBatch, any Error>, context: ServerContext
    ) async throws -> Caravan_Raft_V1_Ack {
        try authorizer.authorize(context)
        let posix = context.transportSpecific as? HTTP2ServerTransport.Posix.Context
        let connection = SenderPins.Connection(
            remotePeer: context.remotePeer, certificateSerial: posix?.peerCertificate.map { "\($0.serialNumber)" }
        )
        pins.state.withLock { $0.open(connection) }
        defer { pins.state.withLock { $0.close(connection) } }
        // With no executor (nil), no preference: Swift's pool.
        return try await withTaskExecutorPreference(executor) {
            var ack = Caravan_Raft_V1_Ack()
            for try await batch in request {
                let refusal = pins.state.withLock {
                    $0.admit(sender: batch.sender, messageSenders: batch.messages.lazy.map(\.from), on: connection)
                }
                if let refusal {
                    logger.warning("refusing a Raft batch from \(context.remotePeer): \(refusal)")
                    throw RPCError(code: .permissionDenied, message: "\(refusal)")
                }
                var messages: [Message] = []
                messages.reserveCapacity(batch.messages.count)
                for wire in batch.messages {
                    do {
                        messages.append(try Message(wire: wire))
                    } catch {
                        logger.warning("skipping a Raft message from \(wire.from): \(error)")
                    }
                }
                await receive(messages)
                ack.batches += 1
                ack.messages += UInt64(messages.count)
            }
            return ack
        }
    }
}

/// The service's `SenderPins`, shared by the copies of the service value.
private final class PinBoard: Sendable {
    let state = Mutex(SenderPins())
}
