import API
import GRPCCore
import Synchronization
import Transport

/// Runs a request here, and forwards it to the leader as a whole gRPC call
/// when it needs the leader (``ControlPlaneError/notLeader(leader:)``), so
/// that any server accepts any request. Job writes do not need it: a
/// follower forwards their commands over Raft (``ControlPlane/submit(_:)``).
/// Node lifecycle writes do, as the leader's heartbeat monitor must see them.
///
/// A forwarded request can meet a server that no longer leads, which forwards
/// it on to the leader it knows; this cannot cycle for long, because two
/// servers cannot each believe the other leads in their current terms.
final class LeaderRouter: Sendable {
    private let addresses: @Sendable (UInt64) -> PeerAddress?
    private let security: TransportSecurityConfiguration
    private let connections = Mutex<[PeerAddress: ClusterConnection]>([:])

    init(security: TransportSecurityConfiguration, addresses: @escaping @Sendable (UInt64) -> PeerAddress?) {
        self.security = security
        self.addresses = addresses
    }

    /// Runs `local`; when this server is not the leader, runs `forward` against the leader instead.
    func write<T: Sendable>(
        _ local: () async throws(ControlPlaneError) -> T,
        forward: (ClusterConnection) async throws -> T
    ) async throws -> T {
        do {
            return try await local()
        } catch .notLeader(let leader) where leader != 0 {
            guard let address = addresses(leader) else {
                throw RPCError(code: .unavailable, message: "the leader is server \(leader), whose address this server does not know; retry against another server")
            }
            do {
                return try await forward(try connection(to: address))
            } catch let refused as RPCError {
                throw Self.passedOn(refused)
            }
        } catch {
            throw error.rpcError
        }
    }

    /// The leader's refusal as this server's own: its code, message and retry
    /// hint. Its other metadata are the leader's trailers (`grpc-status`,
    /// `content-type`, ...); sent on as this server's, they malform the
    /// response and the caller sees only a reset stream.
    private static func passedOn(_ error: RPCError) -> RPCError {
        var metadata = Metadata()
        for hint in error.metadata[stringValues: "retry-after-ms"] { metadata.addString(hint, forKey: "retry-after-ms") }
        return RPCError(code: error.code, message: error.message, metadata: metadata)
    }

    private func connection(to address: PeerAddress) throws -> ClusterConnection {
        try connections.withLock { pool in
            if let existing = pool[address] { return existing }
            let created = try ClusterConnection(address: address, security: security)
            pool[address] = created
            return created
        }
    }

    func close() {
        let all = connections.withLock { pool in
            defer { pool = [:] }
            return Array(pool.values)
        }
        for c in all { c.close() }
    }
}

extension ControlPlaneError {
    /// The gRPC status a caller sees.
    var rpcError: RPCError {
        switch self {
        case .notLeader:
            RPCError(code: .unavailable, message: description)
        case .overloaded(let ms):
            RPCError(code: .resourceExhausted, message: description, metadata: ["retry-after-ms": "\(ms)"])
        case .invalidArgument(let text):
            RPCError(code: .invalidArgument, message: text)
        case .notFound(let text):
            RPCError(code: .notFound, message: text)
        case .failedPrecondition(let text):
            RPCError(code: .failedPrecondition, message: text)
        case .unavailable(let text):
            RPCError(code: .unavailable, message: text)
        }
    }
}
