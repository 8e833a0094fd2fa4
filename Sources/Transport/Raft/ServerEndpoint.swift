import GRPCCore
import GRPCNIOTransportHTTP2

/// A gRPC server on one address, secured by a ``TransportSecurityConfiguration``
/// (with TLS: version 1.3 only, see ``TLSVersionGate``),
/// serving the services it is given (the Raft service now; the API and node
/// services later, on the same port).
public final class ServerEndpoint: Sendable {
    private let server: GRPCServer<HTTP2ServerTransport.Posix>

    /// - Parameters:
    ///   - host: An IPv4 or IPv6 address to bind (`0.0.0.0` for every interface).
    ///   - port: 0 picks a free port; read it from ``listeningPort``.
    ///   - maxMessageBytes: The largest request message accepted (Raft batches
    ///     and snapshot chunks must fit).
    public init(
        host: String = "127.0.0.1", port: Int = 0, security: TransportSecurityConfiguration,
        services: [any RegistrableRPCService], maxMessageBytes: Int = 64 << 20
    ) {
        let address: GRPCNIOTransportCore.SocketAddress =
            host.contains(":") ? .ipv6(host: host, port: port) : .ipv4(host: host, port: port)
        let transport = HTTP2ServerTransport.Posix(
            address: address,
            transportSecurity: security.serverSecurity,
            config: .defaults { config in
                config.rpc.maxRequestPayloadSize = maxMessageBytes
                config.channelDebuggingCallbacks.onAcceptTCPConnection = security.acceptedConnectionInitializer
            }
        )
        server = GRPCServer(transport: transport, services: services)
    }

    /// Serves until ``shutdown()`` or cancellation.
    /// - Throws: When the address cannot be bound.
    public func run() async throws {
        try await server.serve()
    }

    /// The bound port, once listening.
    /// - Throws: ``ServerEndpointError/notListening`` when the server stopped or failed to bind.
    public var listeningPort: Int {
        get async throws {
            guard let address = try await server.listeningAddress else { throw ServerEndpointError.notListening }
            if let v4 = address.ipv4 { return v4.port }
            if let v6 = address.ipv6 { return v6.port }
            throw ServerEndpointError.notListening
        }
    }

    /// Stops accepting calls and lets those in flight finish.
    public func shutdown() {
        server.beginGracefulShutdown()
    }
}

/// Why a ``ServerEndpoint`` has no address.
public enum ServerEndpointError: Error, Hashable, Sendable, CustomStringConvertible {
    case notListening

    public var description: String { "the server is not listening: it failed to bind, or it has stopped" }
}
