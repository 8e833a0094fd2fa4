import GRPCCore
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import RaftCore
import Synchronization
import X509

/// The receiving end of Raft traffic: a TCP listener on the server's Raft
/// port (see `RaftTransport` in raft.proto for the protocol).
///
/// Each connection is served on one of `group`'s loops and hands every batch
/// to `receive` there, synchronously: given the Raft driver's loop, a batch
/// reaches the driver with no thread hand-off. With TLS (1.3 only), the
/// client's certificate must be the cluster CA's and pass `authorizer`; a
/// connection is held to one sender (see ``SenderPin``). A refused connection
/// is told why in a refusal frame and closed; messages of a type this version
/// does not know are skipped.
public final class RaftListener: Sendable {
    private let serverChannel: any Channel
    private let connections = OpenChannels()

    /// The bound port (the one the system picked when 0 was asked for).
    public let port: Int

    /// Binds `host:port` (0: any free port) and serves until ``close()``.
    /// - Parameters:
    ///   - authorizer: Use `.requiring([.server], under: security)`.
    ///   - group: Where connections are served and `receive` is called (the
    ///     Raft driver's loop; by default SwiftNIO's shared loops).
    /// - Throws: When the TLS material is unusable or the address cannot be bound.
    public init(
        host: String, port: Int, security: TransportSecurityConfiguration, authorizer: PeerAuthorizer,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, maxFrameBytes: Int = 64 << 20,
        logger: Logger = Logger(label: "caravan.transport.raft"),
        receive: @escaping @Sendable ([RaftCore.Message]) -> Void
    ) async throws {
        let tls = try security.raftServerContext()
        let connections = self.connections
        serverChannel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let operations = channel.pipeline.syncOperations
                    if let tls { try operations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try operations.addHandler(ByteToMessageHandler(RaftFrameDecoder(maxFrameBytes: maxFrameBytes)))
                    try operations.addHandler(RaftInboundHandler(
                        authorizer: authorizer, awaitsHandshake: tls != nil, logger: logger, receive: receive))
                    connections.track(channel)
                }
            }
            .bind(host: host, port: port).get()
        self.port = serverChannel.localAddress?.port ?? port
    }

    /// Stops accepting and closes every connection.
    public func close() {
        serverChannel.close(promise: nil)
        connections.closeAll()
    }
}

/// The accepted connections still open.
private final class OpenChannels: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func track(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        channels.withLock { $0[id] = channel }
        channel.closeFuture.whenComplete { _ in _ = self.channels.withLock { $0.removeValue(forKey: id) } }
    }

    func closeAll() {
        for channel in channels.withLock({ Array($0.values) }) { channel.close(promise: nil) }
    }
}

/// One inbound connection: checks the peer, decodes batches, delivers them.
final class RaftInboundHandler: ChannelInboundHandler {
    typealias InboundIn = RaftFrame
    typealias OutboundOut = ByteBuffer

    private let authorizer: PeerAuthorizer
    private let receive: @Sendable ([RaftCore.Message]) -> Void
    private let logger: Logger
    private var admitted: Bool
    private var refused = false
    private var pin = SenderPin()
    private var ack = Caravan_Raft_V1_Ack()

    init(authorizer: PeerAuthorizer, awaitsHandshake: Bool, logger: Logger, receive: @escaping @Sendable ([RaftCore.Message]) -> Void) {
        self.authorizer = authorizer
        self.admitted = !awaitsHandshake
        self.logger = logger
        self.receive = receive
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            do {
                guard let presented = try context.pipeline.syncOperations.nioSSL_peerCertificate() else {
                    throw RPCError(code: .unauthenticated, message: "a client certificate signed by the cluster CA is required")
                }
                _ = try authorizer.authorize(certificate: try Certificate(derEncoded: try presented.toDERBytes()))
                admitted = true
            } catch let error as RPCError {
                refuse(.permissionDenied, error.message, context: context)
            } catch {
                refuse(.permissionDenied, "the client certificate cannot be read: \(error)", context: context)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard admitted, !refused else { return }
        switch unwrapInboundIn(data) {
        case .batch(let batch):
            if let refusal = pin.admit(sender: batch.sender, messageSenders: batch.messages.lazy.map(\.from)) {
                refuse(.permissionDenied, "\(refusal)", context: context)
                return
            }
            var messages: [RaftCore.Message] = []
            messages.reserveCapacity(batch.messages.count)
            for wire in batch.messages {
                do {
                    messages.append(try RaftCore.Message(wire: wire))
                } catch {
                    logger.warning("skipping a Raft message from \(wire.from): \(error)")
                }
            }
            receive(messages)
            ack.batches += 1
            ack.messages += UInt64(messages.count)
        case .finish:
            write(.ack(ack), context: context)
            ack = Caravan_Raft_V1_Ack()
        case .ack, .refusal:
            refuse(.invalidFrame, "a Raft connection carries batches and finish frames only", context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? RaftFrameError {
            refuse(.invalidFrame, "\(error)", context: context)
        } else {
            logger.debug("Raft connection from \(peer(context)) failed: \(error)")
            context.close(promise: nil)
        }
    }

    private func refuse(_ code: RaftRefusal.Code, _ reason: String, context: ChannelHandlerContext) {
        guard !refused else { return }
        refused = true
        logger.warning("refusing a Raft connection from \(peer(context)): \(reason)")
        // Closed once the refusal is written, so the sender can read it.
        let written = context.eventLoop.makePromise(of: Void.self)
        let channel = context.channel
        written.futureResult.whenComplete { _ in channel.close(promise: nil) }
        write(.refusal(RaftRefusal(code: code, reason: reason)), context: context, promise: written)
    }

    private func write(_ frame: RaftFrame, context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        do {
            context.writeAndFlush(wrapOutboundOut(try frame.encoded(allocator: context.channel.allocator)), promise: promise)
        } catch {
            promise?.fail(error)
        }
    }

    private func peer(_ context: ChannelHandlerContext) -> String {
        context.remoteAddress.map { "\($0)" } ?? "an unknown address"
    }
}

@available(*, unavailable)
extension RaftInboundHandler: Sendable {}
