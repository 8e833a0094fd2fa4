import NIOCore
import NIOSSL
import NIOTLS

/// Ends a connection whose TLS handshake settled on a version below 1.3,
/// before any of its bytes reach gRPC.
///
/// grpc-swift-nio-transport builds its own `TLSConfiguration` with
/// `minimumTLSVersion = .tlsv12` and offers no setting for it. What it does
/// offer is a callback on each connection's channel once its pipeline is
/// built (`onAcceptTCPConnection` on servers, `onCreateTCPConnection` on
/// clients), before the handshake starts: this handler goes in right after
/// the TLS handler there (see ``install(on:)``). When the handshake completes
/// it reads the negotiated version; below 1.3 it raises ``TLSVersionRefused``
/// and closes the connection, and nothing the peer sent is passed on.
final class TLSVersionGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var admitted = false

    /// Puts a gate after the channel's TLS handler; a channel without one is left alone.
    static func install(on channel: any Channel) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            let operations = channel.pipeline.syncOperations
            guard let tls = try? operations.handler(type: NIOSSLHandler.self) else { return }
            try operations.addHandler(TLSVersionGate(), position: .after(tls))
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            let version = try? context.pipeline.syncOperations.nioSSL_tlsVersion()
            guard version == .tlsv13 else {
                context.fireErrorCaught(TLSVersionRefused(negotiated: version))
                context.close(promise: nil)
                return
            }
            admitted = true
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Application data follows the handshake; until it is admitted, none passes.
        guard admitted else { return }
        context.fireChannelRead(data)
    }
}

@available(*, unavailable)
extension TLSVersionGate: Sendable {}

/// A connection refused because its TLS version is below 1.3.
public struct TLSVersionRefused: Error, Hashable, Sendable, CustomStringConvertible {
    /// The version the handshake settled on, if it could be read.
    public var negotiated: TLSVersion?

    public var description: String {
        "the connection negotiated \(negotiated.map { "\($0)" } ?? "an unknown TLS version"); TLS 1.3 is required"
    }
}
