import Foundation
import LoopbackPorts
import NIOPosix
import RaftCore
import Synchronization
import Testing
@testable import Transport

/// PeerTransport in one process (plaintext, to keep these fast; the mTLS
/// path is covered by MutualTLSTests).
@Suite(.serialized) struct PeerTransportTests {
    static func fastConfiguration(_ id: NodeID) -> PeerTransport.Configuration {
        var configuration = PeerTransport.Configuration(localID: id)
        configuration.backoff = Backoff(initial: .milliseconds(10), maximum: .milliseconds(200))
        return configuration
    }

    @Test(.timeLimit(.minutes(1)))
    func heartbeatsDoNotWaitBehindStalledAppends() async throws {
        // Each lane is its own connection, served on its own loop of this
        // two-loop group; the receiver blocks the loop that gets appends.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let gate = BlockingGate()
        try await withRaftServer(security: .plaintext(), group: group, receive: { inbox, messages in
            if messages.contains(where: { $0.type == .append }) { gate.wait() }
            inbox.receive(messages)
        }) { port, _, inbox in
            let transport = PeerTransport(configuration: Self.fastConfiguration(1), security: .plaintext())
            transport.setPeer(2, address: PeerAddress(host: "127.0.0.1", port: port))
            let running = Task { await transport.run() }
            // On any failure too: the receiver unblocks and the transport stops.
            defer {
                gate.open()
                transport.shutdown()
                running.cancel()
            }

            let payload = [UInt8](repeating: 7, count: 256 << 10)
            for i in 1...8 {
                transport.send(Message(type: .append, from: 1, to: 2, term: 1, index: UInt64(i), entries: [Entry(term: 1, index: UInt64(i), data: payload)]))
            }
            for i in 1...5 {
                transport.send(Message(type: .heartbeat, from: 1, to: 2, term: 1, commit: UInt64(i)))
            }
            // The append connection is stalled at the receiver; the heartbeats arrive regardless.
            try await withTimeout(.seconds(20), "heartbeats past stalled appends") { await inbox.waitFor(count: 5) }
            #expect(inbox.messages.allSatisfy { $0.type == .heartbeat })
            gate.open()
            try await withTimeout(.seconds(20), "the appends") { await inbox.waitFor(count: 13) }
            #expect(inbox.messages.filter { $0.type == .append }.map(\.index) == Array(1...8))
        }
        try await group.shutdownGracefully()
    }

    @Test(.timeLimit(.minutes(1)))
    func aPeerThatComesUpLaterIsReachedAfterReconnecting() async throws {
        let port = try LoopbackPort.next()
        let transport = PeerTransport(configuration: Self.fastConfiguration(1), security: .plaintext())
        transport.setPeer(2, address: PeerAddress(host: "127.0.0.1", port: port))
        let running = Task { await transport.run() }
        defer {
            transport.shutdown()
            running.cancel()
        }
        // Nobody listens yet: asking for the Raft port fails, and is retried with backoff.
        transport.send(Message(type: .heartbeat, from: 1, to: 2, term: 1))
        try await withTimeout(.seconds(20), "a failed link") {
            while (transport.statistics[2]?.linkFailures ?? 0) == 0 { try await Task.sleep(for: .milliseconds(5)) }
        }

        try await withRaftServer(security: .plaintext(), grpcPort: port) { _, _, inbox in
            // Raft resends on every heartbeat tick; so does this loop, until one gets through.
            try await withTimeout(.seconds(30), "a message after reconnecting") {
                var term: UInt64 = 2
                while inbox.messages.isEmpty {
                    transport.send(Message(type: .heartbeat, from: 1, to: 2, term: term))
                    term += 1
                    _ = try? await withTimeout(.milliseconds(50), "one heartbeat") { await inbox.waitFor(count: 1) }
                }
            }
            #expect(inbox.messages.first?.type == .heartbeat)
            // The links end first, so the server can stop gracefully.
            transport.shutdown()
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func anUnreachablePeerFillsItsQueueThenDrops() async throws {
        let port = try LoopbackPort.next()
        var configuration = Self.fastConfiguration(1)
        configuration.priorityLimits = QueueLimits(maxMessages: 10, maxBytes: 1 << 20, batchMessages: 5, batchBytes: 1 << 20)
        let transport = PeerTransport(configuration: configuration, security: .plaintext())
        transport.setPeer(2, address: PeerAddress(host: "127.0.0.1", port: port))
        // Not running: nothing drains the queue, so sending must still return at once.
        var accepted = 0
        for i in 0..<50 where transport.send(Message(type: .heartbeat, from: 1, to: 2, term: UInt64(i))) {
            accepted += 1
        }
        #expect(accepted == 10)
        #expect(transport.statistics[2]?.messagesDropped[.priority] == 40)
        #expect(transport.send(Message(type: .heartbeat, from: 1, to: 9)) == false)
        #expect(transport.unknownPeerDrops == 1)
        transport.shutdown()
    }
}

/// A gate a receiving event loop blocks on (a test stands in for a slow
/// consumer by holding that loop).
final class BlockingGate: Sendable {
    private let condition = NSCondition()
    private let isOpen = Mutex(false)

    func wait() {
        condition.lock()
        while !isOpen.withLock({ $0 }) { condition.wait() }
        condition.unlock()
    }

    func open() {
        condition.lock()
        isOpen.withLock { $0 = true }
        condition.broadcast()
        condition.unlock()
    }
}
