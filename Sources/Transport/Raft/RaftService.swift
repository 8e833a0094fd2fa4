import GRPCCore
import GRPCNIOTransportHTTP2

/// The `RaftTransport` gRPC service: tells a peer which port this server's
/// ``RaftListener`` listens on. Raft messages themselves never travel over
/// gRPC (see raft.proto).
///
/// Every call is first checked by its ``PeerAuthorizer`` (with TLS: only
/// `server.<region>.caravan` certificates may ask).
public struct RaftService: Caravan_Raft_V1_RaftTransport.SimpleServiceProtocol {
    private let authorizer: PeerAuthorizer
    private let raftPort: Int

    /// - Parameters:
    ///   - authorizer: Use `.requiring([.server], under: security)`.
    ///   - raftPort: The listener's port (``RaftListener/port``).
    public init(authorizer: PeerAuthorizer, raftPort: Int) {
        self.authorizer = authorizer
        self.raftPort = raftPort
    }

    public func endpoint(
        request: Caravan_Raft_V1_EndpointRequest, context: ServerContext
    ) async throws -> Caravan_Raft_V1_EndpointResponse {
        try authorizer.authorize(context)
        var response = Caravan_Raft_V1_EndpointResponse()
        response.port = UInt32(raftPort)
        return response
    }

    /// Asks the server at `address` (its gRPC address) for its Raft port.
    /// - Throws: `RPCError`: `.unavailable` when the connection or the TLS
    ///   handshake fails, `.permissionDenied` / `.unauthenticated` when the
    ///   server refuses this node's certificate role, `.deadlineExceeded`
    ///   after `timeout`.
    public static func raftPort(
        of address: PeerAddress, security: TransportSecurityConfiguration, timeout: Duration = .seconds(10)
    ) async throws -> Int {
        return try await withGRPCClient(transport: try security.clientTransport(to: address)) { client in
            var options = CallOptions.defaults
            options.waitForReady = false
            options.timeout = timeout
            let response = try await Caravan_Raft_V1_RaftTransport.Client(wrapping: client)
                .endpoint(Caravan_Raft_V1_EndpointRequest(), options: options)
            return Int(response.port)
        }
    }
}
