import Foundation
import GRPCCore
import RaftCore
import Testing
import Transport

/// Raft traffic over mutual TLS, between this process and a `TransportTestPeer`
/// process, and the connections that must be refused.
@Suite(.serialized) struct MutualTLSTests {
    /// Every message type travels to the peer process and back (the peer echoes
    /// each message with `from`/`to` swapped through its own PeerTransport).
    @Test(.timeLimit(.minutes(1)))
    func twoProcessesExchangeEveryMessageTypeOverMutualTLS() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let security = try pki.security(pki.server)
        try await withRaftServer(security: security) { port, inbox in
            let peer = try PeerProcess(
                arguments: ["--id", "2", "--reply-to", "1@127.0.0.1:\(port)", "--reply", "echo"],
                files: pki.server2
            )
            defer { peer.stop() }
            var configuration = PeerTransport.Configuration(localID: 1)
            configuration.backoff = Backoff(initial: .milliseconds(20), maximum: .milliseconds(500))
            let transport = PeerTransport(configuration: configuration, security: security)
            transport.setPeer(2, address: PeerAddress(host: "127.0.0.1", port: peer.port))
            let running = Task { await transport.run() }
            defer {
                transport.shutdown()
                running.cancel()
            }

            let rounds = 20
            var sent: [Message] = []
            for round in 0..<rounds {
                for type in MessageType.allCases {
                    var message = MessageWireTests.sample(type)
                    message.from = 1
                    message.to = 2
                    message.term = UInt64(round + 1)
                    sent.append(message)
                }
            }
            transport.send(sent)
            let expectedCount = sent.count
            try await withTimeout(.seconds(30), "\(expectedCount) echoed messages") {
                await inbox.waitFor(count: expectedCount)
            }
            let received = inbox.messages
            #expect(received.count == sent.count)
            // Lanes may reorder across each other, never within themselves.
            for lane in Lane.allCases {
                let expected = sent.filter { Lane.of($0) == lane }.map { message -> Message in
                    var echoed = message
                    echoed.from = 2
                    echoed.to = 1
                    return echoed
                }
                #expect(received.filter { Lane.of($0) == lane } == expected)
            }
            #expect(transport.statistics[2]?.totalDropped == 0)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aCertificateFromAnotherCAIsRefused() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try await withRaftServer(security: try pki.security(pki.server)) { port, inbox in
            // A stranger whose certificate another CA signed (and who trusts that CA).
            let stranger = try pki.security(pki.otherCAServer)
            await #expect(throws: RPCError.self) {
                try await PeerProbe.send([Message(type: .heartbeat, from: 9, to: 1)], to: PeerAddress(host: "127.0.0.1", port: port), security: stranger)
            }
            // Even trusting our CA, a certificate from another CA is refused by the server.
            let mixed = try TransportSecurityConfiguration.mutualTLS(
                TLSFiles(caPath: pki.caPath, certificatePath: pki.otherCAServer.certificatePath, keyPath: pki.otherCAServer.keyPath)
            )
            await #expect(throws: RPCError.self) {
                try await PeerProbe.send([Message(type: .heartbeat, from: 9, to: 1)], to: PeerAddress(host: "127.0.0.1", port: port), security: mixed)
            }
            #expect(inbox.messages.isEmpty)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func anExpiredCertificateIsRefused() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try await withRaftServer(security: try pki.security(pki.server)) { port, inbox in
            await #expect(throws: RPCError.self) {
                try await PeerProbe.send(
                    [Message(type: .heartbeat, from: 9, to: 1)], to: PeerAddress(host: "127.0.0.1", port: port),
                    security: try pki.security(pki.expiredServer)
                )
            }
            #expect(inbox.messages.isEmpty)
        }
        // And a server presenting an expired certificate is refused by the client.
        try await withRaftServer(security: try pki.security(pki.expiredServer)) { port, inbox in
            await #expect(throws: RPCError.self) {
                try await PeerProbe.send(
                    [Message(type: .heartbeat, from: 9, to: 1)], to: PeerAddress(host: "127.0.0.1", port: port),
                    security: try pki.security(pki.server)
                )
            }
            #expect(inbox.messages.isEmpty)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func plaintextToATLSPortIsRefused() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try await withRaftServer(security: try pki.security(pki.server)) { port, inbox in
            await #expect(throws: RPCError.self) {
                try await PeerProbe.send([Message(type: .heartbeat, from: 9, to: 1)], to: PeerAddress(host: "127.0.0.1", port: port), security: .plaintext())
            }
            #expect(inbox.messages.isEmpty)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aClientOrCLICertificateCannotActAsAServerPeer() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try await withRaftServer(security: try pki.security(pki.server)) { port, inbox in
            for files in [pki.client, pki.cli] {
                let error = await #expect(throws: RPCError.self) {
                    try await PeerProbe.send(
                        [Message(type: .heartbeat, from: 9, to: 1)], to: PeerAddress(host: "127.0.0.1", port: port),
                        security: try pki.security(files)
                    )
                }
                #expect(error?.code == .permissionDenied)
            }
            // A real server certificate passes the same check.
            let ack = try await PeerProbe.send(
                [Message(type: .heartbeat, from: 3, to: 1)], to: PeerAddress(host: "127.0.0.1", port: port),
                security: try pki.security(pki.server2)
            )
            #expect(ack.messages == 1)
            #expect(inbox.messages == [Message(type: .heartbeat, from: 3, to: 1)])
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aServerDoesNotTalkToAPeerPresentingAClientCertificate() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        // The "peer" listens with a client certificate: the dialing server's
        // hostname check (server.global.caravan) fails during the handshake.
        try await withRaftServer(security: try pki.security(pki.client)) { port, inbox in
            await #expect(throws: RPCError.self) {
                try await PeerProbe.send(
                    [Message(type: .heartbeat, from: 1, to: 2)], to: PeerAddress(host: "127.0.0.1", port: port),
                    security: try pki.security(pki.server)
                )
            }
            #expect(inbox.messages.isEmpty)
        }
    }
}
