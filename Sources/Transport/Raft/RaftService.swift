import GRPCCore
import Logging
import RaftCore

/// The receiving end of Raft traffic: the `RaftTransport` gRPC service.
///
/// Every call is first checked by its ``PeerAuthorizer`` (with TLS: only
/// `server.<region>.caravan` certificates may send Raft messages). Each batch
/// is decoded and handed to `receive`, which is awaited before the next batch
/// is read, so a slow consumer slows its sender through HTTP/2 flow control
/// rather than buffering without bound. Messages of a type this version does
/// not know are skipped.
public struct RaftService: Caravan_Raft_V1_RaftTransport.SimpleServiceProtocol {
    private let authorizer: PeerAuthorizer
    private let receive: @Sendable ([Message]) async -> Void
    private let logger: Logger

    /// - Parameters:
    ///   - authorizer: Use `.requiring([.server], under: security)`.
    ///   - receive: Called with each batch's messages, in order per stream.
    public init(
        authorizer: PeerAuthorizer, logger: Logger = Logger(label: "caravan.transport.raft"),
        receive: @escaping @Sendable ([Message]) async -> Void
    ) {
        self.authorizer = authorizer
        self.receive = receive
        self.logger = logger
    }

    public func send(
        request: RPCAsyncSequence<Caravan_Raft_V1_MessageBatch, any Error>, context: ServerContext
    ) async throws -> Caravan_Raft_V1_Ack {
        try authorizer.authorize(context)
        var ack = Caravan_Raft_V1_Ack()
        for try await batch in request {
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
