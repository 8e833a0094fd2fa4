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
        let transport = try HTTP2ClientTransport.Posix(
            target: .dns(host: address.host, port: address.port),
            transportSecurity: security.clientSecurity,
            config: .defaults { $0.http2.authority = security.clientAuthority }
        )
        return try await withGRPCClient(transport: transport) { client in
            var options = CallOptions.defaults
            options.waitForReady = false
            options.timeout = timeout
            let batch = Caravan_Raft_V1_MessageBatch.with {
                $0.sender = localID
                $0.messages = messages.map(Caravan_Raft_V1_Message.init)
            }
            return try await Caravan_Raft_V1_RaftTransport.Client(wrapping: client).send(
                options: options,
                requestProducer: { writer in try await writer.write(batch) }
            ) { response in try response.message }
        }
    }
}
