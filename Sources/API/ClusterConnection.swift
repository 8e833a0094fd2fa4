import GRPCCore
import GRPCNIOTransportHTTP2
import Transport

/// A connection to one Caravan server's gRPC port, with a client for each
/// public service. It reconnects by itself; close it when done.
///
/// ```swift
/// let connection = try ClusterConnection(address: PeerAddress(host: "127.0.0.1", port: 7647))
/// defer { connection.close() }
/// let status = try await connection.cluster.status(Caravan_Api_V1_GetStatusRequest())
/// ```
public final class ClusterConnection: Sendable {
    public typealias Wire = HTTP2ClientTransport.Posix

    public let address: PeerAddress
    public let jobs: Caravan_Api_V1_Jobs.Client<Wire>
    public let cluster: Caravan_Api_V1_Cluster.Client<Wire>
    public let allocations: Caravan_Api_V1_Allocations.Client<Wire>
    public let evaluations: Caravan_Api_V1_Evaluations.Client<Wire>
    public let operatorControls: Caravan_Api_V1_Operator.Client<Wire>
    public let events: Caravan_Api_V1_Events.Client<Wire>
    public let nodes: Caravan_Api_V1_Nodes.Client<Wire>
    public let logs: Caravan_Api_V1_Logs.Client<Wire>
    /// The node protocol (what client agents call).
    public let node: Caravan_Node_V1_NodeService.Client<Wire>

    private let client: GRPCClient<Wire>
    private let runner: Task<Void, Never>

    /// - Parameters:
    ///   - security: with TLS, this side presents its certificate and checks the server's.
    public init(address: PeerAddress, security: TransportSecurityConfiguration = .plaintext()) throws {
        self.address = address
        let transport = try security.clientTransport(to: address) { config in
            // gRPC's default waits 1 s after a refused connect and up to
            // 2 minutes after several: a server that is starting or
            // restarting would be reached long after it listens, and a
            // call waiting for the connection would time out first.
            config.backoff = .init(initial: .milliseconds(100), max: .seconds(3), multiplier: 1.6, jitter: 0.2)
            // A caller's writes are requests and status reports, each
            // awaited: holding one for more to send with it (up to 100 µs,
            // later on a busy loop) only delays it. The servers keep
            // coalescing, which saves them system calls under load.
            config.connection.flushCoalescing = nil
        }
        let client = GRPCClient(transport: transport)
        self.client = client
        runner = Task { try? await client.runConnections() }
        jobs = .init(wrapping: client)
        cluster = .init(wrapping: client)
        allocations = .init(wrapping: client)
        evaluations = .init(wrapping: client)
        operatorControls = .init(wrapping: client)
        events = .init(wrapping: client)
        nodes = .init(wrapping: client)
        logs = .init(wrapping: client)
        node = .init(wrapping: client)
    }

    /// Stops the connection once calls in flight finish.
    public func close() {
        client.beginGracefulShutdown()
    }

    deinit {
        client.beginGracefulShutdown()
        runner.cancel()
    }
}
