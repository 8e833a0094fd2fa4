import GRPCCore
import GRPCNIOTransportHTTP2
import RaftCore

/// A one-off check that a peer accepts this node's Raft traffic: dials it,
/// sends one batch on a fresh connection and waits for the acknowledgement.
/// Useful before adding a peer, and to see why a peer refuses (wrong CA,
/// expired certificate, a certificate without the server role).
public enum PeerProbe {
    /// Sends `messages` (by default none) to the peer at `address`.
    /// - Returns: The peer's acknowledgement.
    /// - Throws: `RPCError`: `.unavailable` when the connection or the TLS
    ///   handshake fails, `.permissionDenied` / `.unauthenticated` when the peer
    ///   refuses this node's certificate role; `.deadlineExceeded` after `timeout`.
    public static func send(
        _ messages: [Message] = [], to address: PeerAddress, security: TransportSecurityConfiguration,
        localID: NodeID = 0, timeout: Duration = .seconds(10)
    ) async throws -> Caravan_Raft_V1_Ack {
        try await withConnection(to: address, security: security, timeout: timeout) { connection in
            try await connection.send([messages], sender: localID)
        }
    }

    /// Runs `body` with one connection to the peer at `address`: every
    /// ``Connection/send(_:sender:)`` in it is a stream on that same connection.
    public static func withConnection<Result: Sendable>(
        to address: PeerAddress, security: TransportSecurityConfiguration, timeout: Duration = .seconds(10),
        _ body: @Sendable (Connection) async throws -> Result
    ) async throws -> Result {
        let transport = try HTTP2ClientTransport.Posix(
            target: .dns(host: address.host, port: address.port),
            transportSecurity: security.clientSecurity,
            config: .defaults { config in
                config.http2.authority = security.clientAuthority
                config.channelDebuggingCallbacks.onCreateTCPConnection = security.dialedConnectionInitializer
            }
        )
        return try await withGRPCClient(transport: transport) { client in
            try await body(Connection(raft: Caravan_Raft_V1_RaftTransport.Client(wrapping: client), timeout: timeout))
        }
    }

    /// A connection opened by ``withConnection(to:security:timeout:_:)``.
    public struct Connection: Sendable {
        let raft: Caravan_Raft_V1_RaftTransport.Client<HTTP2ClientTransport.Posix>
        let timeout: Duration

        /// Sends `batches` on one new stream, each batch naming `sender`.
        /// - Returns: The peer's acknowledgement.
        /// - Throws: `RPCError`, as ``PeerProbe/send(_:to:security:localID:timeout:)``.
        public func send(_ batches: [[Message]], sender: NodeID) async throws -> Caravan_Raft_V1_Ack {
            var options = CallOptions.defaults
            options.waitForReady = false
            options.timeout = timeout
            let wire = batches.map { messages in
                Caravan_Raft_V1_MessageBatch.with {
                    $0.sender = sender
                    $0.messages = messages.map(Caravan_Raft_V1_Message.init)
                }
            }
            return try await raft.send(
                options: options,
                requestProducer: { writer in try await writer.write(contentsOf: wire) }
            ) { response in try response.message }
        }
    }
}
