import GRPCCore
import Model
import Synchronization
import Transport

/// Task logs from client nodes. Servers never dial nodes (a node may be
/// behind NAT): each node keeps a `RelayLogs` stream open to every server,
/// and a server asks for a log down that stream and gets the chunks back on it.
final class LogRelayHub: Sendable {
    private struct Relay {
        var id: UInt64
        var requests: AsyncStream<Caravan_Node_V1_LogRequest>.Continuation
        var readers: [UInt64: AsyncThrowingStream<Caravan_Node_V1_LogRelayMessage, any Error>.Continuation] = [:]
    }
    private struct State {
        var relays: [NodeID: Relay] = [:]
        var nextRequest: UInt64 = 0
    }
    private let state = Mutex(State())

    /// Serves one node's relay stream until it ends.
    func serve(
        _ incoming: RPCAsyncSequence<Caravan_Node_V1_LogRelayMessage, any Error>,
        _ outgoing: RPCWriter<Caravan_Node_V1_LogRequest>
    ) async throws {
        var messages = incoming.makeAsyncIterator()
        guard let hello = try await messages.next(), !hello.nodeID.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "the first relay message must carry the node_id")
        }
        let node = NodeID(hello.nodeID)
        let (requests, continuation) = AsyncStream<Caravan_Node_V1_LogRequest>.makeStream()
        let (relayID, replaced) = state.withLock { s in
            s.nextRequest += 1
            return (s.nextRequest, s.relays.updateValue(Relay(id: s.nextRequest, requests: continuation), forKey: node))
        }
        if let replaced {
            replaced.requests.finish()
            for reader in replaced.readers.values {
                reader.finish(throwing: RPCError(code: .unavailable, message: "node \(node) reconnected its log relay"))
            }
        }
        defer {
            let gone = state.withLock { s -> Relay? in
                // Only if it is still this stream's (not replaced by a newer one).
                guard s.relays[node]?.id == relayID else { return nil }
                return s.relays.removeValue(forKey: node)
            }
            if let gone {
                gone.requests.finish()
                for reader in gone.readers.values {
                    reader.finish(throwing: RPCError(code: .unavailable, message: "node \(node) closed its log relay"))
                }
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await request in requests { try await outgoing.write(request) }
            }
            while let chunk = try await messages.next() {
                let reader = state.withLock { s -> AsyncThrowingStream<Caravan_Node_V1_LogRelayMessage, any Error>.Continuation? in
                    if chunk.endOfStream || !chunk.error.isEmpty { return s.relays[node]?.readers.removeValue(forKey: chunk.requestID) }
                    return s.relays[node]?.readers[chunk.requestID]
                }
                guard let reader else { continue }
                if !chunk.error.isEmpty {
                    reader.finish(throwing: RPCError(code: .notFound, message: chunk.error))
                    continue
                }
                reader.yield(chunk)
                if chunk.endOfStream { reader.finish() }
            }
            group.cancelAll()
        }
    }

    /// Asks `node` for a log; nil when the node has no relay open to this server.
    /// Cancelling the stream's consumer cancels the request on the node.
    func open(_ node: NodeID, _ request: Caravan_Node_V1_LogRequest) -> AsyncThrowingStream<Caravan_Node_V1_LogRelayMessage, any Error>? {
        let (stream, continuation) = AsyncThrowingStream<Caravan_Node_V1_LogRelayMessage, any Error>.makeStream()
        let sent: (UInt64, AsyncStream<Caravan_Node_V1_LogRequest>.Continuation)? = state.withLock { s in
            guard s.relays[node] != nil else { return nil }
            s.nextRequest += 1
            s.relays[node]!.readers[s.nextRequest] = continuation
            return (s.nextRequest, s.relays[node]!.requests)
        }
        guard let (id, requests) = sent else { return nil }
        var request = request
        request.requestID = id
        requests.yield(request)
        continuation.onTermination = { [self] termination in
            guard case .cancelled = termination else { return }
            let relay = self.state.withLock { s in s.relays[node]?.readers.removeValue(forKey: id) != nil ? s.relays[node]?.requests : nil }
            var cancel = Caravan_Node_V1_LogRequest()
            cancel.requestID = id
            cancel.cancel = true
            relay?.yield(cancel)
        }
        return stream
    }
}
