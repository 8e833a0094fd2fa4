import GRPCCore
import NIOPosix
import RaftCore

/// A one-off check that a peer accepts this node's Raft traffic: asks the
/// peer for its Raft port, dials it, sends one batch on a fresh connection
/// and waits for the acknowledgement. Useful before adding a peer, and to see
/// why a peer refuses (wrong CA, expired certificate, a certificate without
/// the server role).
public enum PeerProbe {
    /// Sends `messages` (by default none) to the peer at `address` (its gRPC address).
    /// - Returns: The peer's acknowledgement.
    /// - Throws: `RPCError`: `.unavailable` when a connection or a TLS
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

    /// Runs `body` with one connection to the Raft port of the peer at
    /// `address`: every ``Connection/send(_:sender:)`` in it uses that same
    /// connection. With `raftPort`, that port is dialed without asking the
    /// peer (to check the Raft listener's own refusals).
    public static func withConnection<Result: Sendable>(
        to address: PeerAddress, raftPort: Int? = nil, security: TransportSecurityConfiguration,
        timeout: Duration = .seconds(10),
        _ body: @Sendable (Connection) async throws -> Result
    ) async throws -> Result {
        let port = if let raftPort { raftPort } else { try await RaftService.raftPort(of: address, security: security, timeout: timeout) }
        let link: RaftLink
        do {
            link = try await RaftLink.connect(
                host: address.host, port: port, tls: try security.raftClientContext(), serverName: security.serverName,
                loop: MultiThreadedEventLoopGroup.singleton.next(), connectTimeout: timeout)
        } catch {
            throw RPCError(code: .unavailable, message: "cannot connect to the Raft port \(address.host):\(port)", cause: error)
        }
        defer { link.close() }
        return try await body(Connection(link: link, timeout: timeout))
    }

    /// A connection opened by ``withConnection(to:raftPort:security:timeout:_:)``.
    public struct Connection: Sendable {
        let link: RaftLink
        let timeout: Duration

        /// Sends `batches`, each naming `sender`, then asks for an acknowledgement.
        /// - Returns: What the peer accepted since the last acknowledgement.
        /// - Throws: `RPCError`, as ``PeerProbe/send(_:to:security:localID:timeout:)``.
        ///   A refusal closes the connection: later sends on it fail.
        public func send(_ batches: [[Message]], sender: NodeID) async throws -> Caravan_Raft_V1_Ack {
            do {
                for messages in batches {
                    link.write(try RaftFrame.batch(messages, sender: sender, allocator: link.channel.allocator))
                }
                let link = self.link
                return try await withThrowingTaskGroup(of: Caravan_Raft_V1_Ack?.self) { group in
                    group.addTask { try await link.finish() }
                    group.addTask {
                        try await Task.sleep(for: timeout)
                        return nil
                    }
                    defer { group.cancelAll() }
                    guard let ack = try await group.next() ?? nil else {
                        link.close()
                        throw RPCError(code: .deadlineExceeded, message: "no acknowledgement within \(timeout)")
                    }
                    return ack
                }
            } catch let error as RPCError {
                throw error
            } catch let refusal as RaftRefusal {
                throw RPCError(code: refusal.code == .permissionDenied ? .permissionDenied : .invalidArgument, message: refusal.reason)
            } catch {
                throw RPCError(code: .unavailable, message: "the Raft connection failed", cause: error)
            }
        }
    }
}
