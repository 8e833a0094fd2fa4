#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import NIOSSL
import RaftCore
import Synchronization

/// An outbound connection to a peer's Raft port (``RaftListener``): what a
/// peer connection's lane writes its batches to, and what ``PeerProbe`` uses.
final class RaftLink: Sendable {
    let channel: any Channel
    private let state: LinkState

    private init(channel: any Channel, state: LinkState) {
        self.channel = channel
        self.state = state
    }

    /// Dials `host:port` on `loop`, with TLS when `tls` is given (the peer's
    /// certificate must name `serverName`). Returns once TCP is connected;
    /// a failed TLS handshake surfaces as the link's ``failure``.
    static func connect(
        host: String, port: Int, tls: NIOSSLContext?, serverName: String, loop: any EventLoop,
        connectTimeout: Duration = .seconds(5), keepalive: (idle: Duration, timeout: Duration) = (.seconds(10), .seconds(5)),
        maxFrameBytes: Int = 64 << 20
    ) async throws -> RaftLink {
        let state = LinkState()
        let idleSeconds = Int(max(1, keepalive.idle.components.seconds))
        let probeSeconds = Int(max(1, keepalive.timeout.components.seconds))
        // A peer that vanished without a reset (a host gone, a cut link) is
        // found by keepalive probes when the link is idle and by the user
        // timeout when written data goes unacknowledged.
        let userTimeout = Int((keepalive.idle + keepalive.timeout).components.seconds * 1000)
        let channel = try await ClientBootstrap(group: loop)
            .connectTimeout(.init(connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelOption(tcpOption(TCP_KEEPIDLE), value: idleSeconds)
            .channelOption(tcpOption(TCP_KEEPINTVL), value: probeSeconds)
            .channelOption(tcpOption(TCP_KEEPCNT), value: 1)
            .channelOption(tcpOption(TCP_USER_TIMEOUT), value: userTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let operations = channel.pipeline.syncOperations
                    if let tls { try operations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: serverName)) }
                    try operations.addHandler(ByteToMessageHandler(RaftFrameDecoder(maxFrameBytes: maxFrameBytes)))
                    try operations.addHandler(RaftLinkHandler(state: state))
                }
            }
            .connect(host: host, port: port).get()
        return RaftLink(channel: channel, state: state)
    }

    /// Waits until the channel takes more writes; false once it has closed.
    /// Cancelling the waiting task closes the link.
    func writable() async -> Bool {
        let channel = self.channel
        return await withTaskCancellationHandler {
            await state.writable()
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    /// Writes and flushes `frame` (a lost write is Raft's to resend).
    func write(_ frame: ByteBuffer) {
        channel.writeAndFlush(frame, promise: nil)
    }

    /// Sends `finish` and returns the receiver's acknowledgement.
    /// - Throws: The link's ``failure`` when it closes first.
    func finish() async throws -> Caravan_Raft_V1_Ack {
        let frame = try RaftFrame.finish.encoded(allocator: channel.allocator)
        let channel = self.channel
        return try await withTaskCancellationHandler {
            try await state.nextAck { self.write(frame) }
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    /// Why the link closed: the receiver's ``RaftRefusal``, a TLS or socket
    /// error, or ``RaftLinkClosed``; nil while open.
    var failure: (any Error)? { state.failure }

    func close() {
        channel.close(promise: nil)
    }
}

private func tcpOption(_ name: CInt) -> ChannelOptions.Types.SocketOption {
    ChannelOptions.Types.SocketOption(level: .tcp, name: NIOBSDSocket.Option(rawValue: name))
}

/// The link ended without an error of its own.
struct RaftLinkClosed: Error, CustomStringConvertible {
    var description: String { "the peer closed the Raft connection" }
}

/// What the link's handler reports to the tasks using it.
private final class LinkState: Sendable {
    private struct State {
        var writable = true
        var failure: (any Error)?
        var closed = false
        var writableWaiters: [CheckedContinuation<Bool, Never>] = []
        var ackWaiters: [CheckedContinuation<Caravan_Raft_V1_Ack, any Error>] = []
    }

    private let state = Mutex(State())

    var failure: (any Error)? { state.withLock { $0.closed ? $0.failure ?? RaftLinkClosed() : nil } }

    func writable() async -> Bool {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool? in
                if state.closed { return false }
                if state.writable { return true }
                state.writableWaiters.append(continuation)
                return nil
            }
            if let now { continuation.resume(returning: now) }
        }
    }

    func nextAck(after send: @Sendable () -> Void) async throws -> Caravan_Raft_V1_Ack {
        try await withCheckedThrowingContinuation { continuation in
            let failure = state.withLock { state -> (any Error)? in
                if state.closed { return state.failure ?? RaftLinkClosed() }
                state.ackWaiters.append(continuation)
                return nil
            }
            if let failure { continuation.resume(throwing: failure) } else { send() }
        }
    }

    func setWritable(_ writable: Bool) {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.writable = writable
            guard writable else { return [] }
            defer { state.writableWaiters.removeAll() }
            return state.writableWaiters
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    func received(_ ack: Caravan_Raft_V1_Ack) {
        let waiter = state.withLock { state in state.ackWaiters.isEmpty ? nil : state.ackWaiters.removeFirst() }
        waiter?.resume(returning: ack)
    }

    /// Records the first failure; the link is not closed until ``closed()``.
    func failed(_ error: any Error) {
        state.withLock { state in
            if state.failure == nil { state.failure = error }
        }
    }

    func closed() {
        let (writers, acks, failure) = state.withLock { state in
            state.closed = true
            defer {
                state.writableWaiters.removeAll()
                state.ackWaiters.removeAll()
            }
            return (state.writableWaiters, state.ackWaiters, state.failure ?? RaftLinkClosed())
        }
        for waiter in writers { waiter.resume(returning: false) }
        for waiter in acks { waiter.resume(throwing: failure) }
    }
}

/// Reads what a receiver sends back (acknowledgements, refusals) and tracks
/// writability.
private final class RaftLinkHandler: ChannelInboundHandler {
    typealias InboundIn = RaftFrame
    private let state: LinkState

    init(state: LinkState) {
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .ack(let ack): state.received(ack)
        case .refusal(let refusal): state.failed(refusal)
        case .batch, .finish: state.failed(RaftFrameError.malformed("a receiver sent a batch"))
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        state.setWritable(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        state.failed(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.closed()
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension RaftLinkHandler: Sendable {}
