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

    // Each refusal below is asserted by its reason: the TLS failure named in
    // the error's causes, or the authorizer's message. A refusal for another
    // reason (nothing listening: "Connection refused") fails these tests.

    @Test(.timeLimit(.minutes(1)))
    func aCertificateFromAnotherCAIsRefused() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try await withRaftServer(security: try pki.security(pki.server)) { port, inbox in
            let address = PeerAddress(host: "127.0.0.1", port: port)
            // A stranger whose certificate another CA signed (and who trusts that
            // CA): it cannot verify our server's certificate.
            let stranger = try pki.security(pki.otherCAServer)
            await expectHandshakeFailure("CERTIFICATE_VERIFY_FAILED") {
                try await PeerProbe.send([heartbeat], to: address, security: stranger, localID: 9)
            }
            // Even trusting our CA, a certificate from another CA is refused by
            // the server, which tells the client so with an "unknown CA" alert.
            let mixed = try TransportSecurityConfiguration.mutualTLS(
                TLSFiles(caPath: pki.caPath, certificatePath: pki.otherCAServer.certificatePath, keyPath: pki.otherCAServer.keyPath)
            )
            await expectHandshakeFailure("TLSV1_ALERT_UNKNOWN_CA") {
                try await PeerProbe.send([heartbeat], to: address, security: mixed, localID: 9)
            }
            #expect(inbox.messages.isEmpty)
            // The same server takes the same batch from a certificate of our CA.
            try await expectAccepted(address, try pki.security(pki.server2), inbox)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func anExpiredCertificateIsRefused() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try await withRaftServer(security: try pki.security(pki.server)) { port, inbox in
            let address = PeerAddress(host: "127.0.0.1", port: port)
            // The server refuses an expired client certificate with a
            // "certificate expired" alert.
            await expectHandshakeFailure("SSLV3_ALERT_CERTIFICATE_EXPIRED") {
                try await PeerProbe.send([heartbeat], to: address, security: try pki.security(pki.expiredServer), localID: 9)
            }
            #expect(inbox.messages.isEmpty)
            try await expectAccepted(address, try pki.security(pki.server2), inbox)
        }
        // And a server presenting an expired certificate fails the client's
        // verification (BoringSSL names no finer reason in the error; the
        // control is that the same client is accepted by a server whose
        // certificate is valid, just above).
        try await withRaftServer(security: try pki.security(pki.expiredServer)) { port, inbox in
            await expectHandshakeFailure("CERTIFICATE_VERIFY_FAILED") {
                try await PeerProbe.send(
                    [heartbeat], to: PeerAddress(host: "127.0.0.1", port: port), security: try pki.security(pki.server2), localID: 9
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
            let error = await #expect(throws: RPCError.self) {
                try await PeerProbe.send([heartbeat], to: PeerAddress(host: "127.0.0.1", port: port), security: .plaintext(), localID: 9)
            }
            // The TCP connection was accepted, and closed by the TLS layer when
            // the HTTP/2 preface came instead of a ClientHello.
            let chain = error.map(failureChain) ?? ""
            #expect(error?.code == .unavailable, "\(chain)")
            #expect(chain.contains("accepted the TCP connection but closed the connection before completing the HTTP/2 connection preface"), "\(chain)")
            #expect(!chain.contains("refused"), "\(chain)")
            #expect(inbox.messages.isEmpty)
        }
        // The same plaintext probe is accepted by a plaintext server.
        try await withRaftServer(security: .plaintext()) { port, inbox in
            try await expectAccepted(PeerAddress(host: "127.0.0.1", port: port), .plaintext(), inbox)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aClientOrCLICertificateCannotActAsAServerPeer() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try await withRaftServer(security: try pki.security(pki.server)) { port, inbox in
            let address = PeerAddress(host: "127.0.0.1", port: port)
            for (files, role) in [(pki.client, "client"), (pki.cli, "cli")] {
                // The handshake passes (the CA signed it); the authorizer refuses the role.
                let error = await #expect(throws: RPCError.self) {
                    try await PeerProbe.send([heartbeat], to: address, security: try pki.security(files), localID: 9)
                }
                #expect(error?.code == .permissionDenied, "\(error.map(failureChain) ?? "")")
                #expect(error?.message == "certificate names \(role).global.caravan; this call needs server.global.caravan")
            }
            #expect(inbox.messages.isEmpty)
            // A real server certificate passes the same check.
            try await expectAccepted(address, try pki.security(pki.server2), inbox)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aServerDoesNotTalkToAPeerPresentingAClientCertificate() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        // The "peer" listens with a client certificate: the dialing server's
        // hostname check (server.global.caravan) fails its verification.
        try await withRaftServer(security: try pki.security(pki.client)) { port, inbox in
            await expectHandshakeFailure("CERTIFICATE_VERIFY_FAILED") {
                try await PeerProbe.send(
                    [Message(type: .heartbeat, from: 1, to: 2)], to: PeerAddress(host: "127.0.0.1", port: port),
                    security: try pki.security(pki.server), localID: 1
                )
            }
            #expect(inbox.messages.isEmpty)
        }
        // The same dialer talks to a peer presenting a server certificate.
        try await withRaftServer(security: try pki.security(pki.server2)) { port, inbox in
            try await expectAccepted(PeerAddress(host: "127.0.0.1", port: port), try pki.security(pki.server), inbox)
        }
    }

    /// The Raft port itself (dialed directly, not found through the gRPC
    /// port) refuses what the gRPC port refuses.
    @Test(.timeLimit(.minutes(1)))
    func theRaftPortRefusesWhatTheGRPCPortRefuses() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try await withRaftServer(security: try pki.security(pki.server)) { port, raftPort, inbox in
            let address = PeerAddress(host: "127.0.0.1", port: port)
            @Sendable func probe(_ security: TransportSecurityConfiguration) async throws -> Caravan_Raft_V1_Ack {
                try await PeerProbe.withConnection(to: address, raftPort: raftPort, security: security) { connection in
                    try await connection.send([[heartbeat]], sender: 9)
                }
            }
            let stranger = try pki.security(pki.otherCAServer)
            let expired = try pki.security(pki.expiredServer)
            await expectHandshakeFailure("CERTIFICATE_VERIFY_FAILED") { try await probe(stranger) }
            await expectHandshakeFailure("SSLV3_ALERT_CERTIFICATE_EXPIRED") { try await probe(expired) }
            for (files, role) in [(pki.client, "client"), (pki.cli, "cli")] {
                let security = try pki.security(files)
                let error = await #expect(throws: RPCError.self) { try await probe(security) }
                #expect(error?.code == .permissionDenied, "\(error.map(failureChain) ?? "")")
                #expect(error?.message == "certificate names \(role).global.caravan; this call needs server.global.caravan")
            }
            // Plaintext: the TLS layer closes the connection on bytes that are no ClientHello.
            let plaintext = await #expect(throws: RPCError.self) { try await probe(.plaintext()) }
            #expect(plaintext?.code == .unavailable, "\(plaintext.map(failureChain) ?? "")")
            #expect(inbox.messages.isEmpty)
            // The control: a server certificate of our CA gets through.
            #expect(try await probe(try pki.security(pki.server2)).messages == 1)
            #expect(inbox.messages == [heartbeat])
        }
    }
}

private let heartbeat = Message(type: .heartbeat, from: 9, to: 1)

/// Expects `body` to fail with `.unavailable` because the TLS handshake
/// failed with BoringSSL's `reason` (e.g. `CERTIFICATE_VERIFY_FAILED`).
private func expectHandshakeFailure(
    _ reason: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: @Sendable () async throws -> some Sendable
) async {
    let error = await #expect(throws: RPCError.self, sourceLocation: sourceLocation) { _ = try await body() }
    let chain = error.map(failureChain) ?? ""
    #expect(error?.code == .unavailable, "\(chain)", sourceLocation: sourceLocation)
    #expect(chain.contains("NIOSSL") && chain.contains(reason), "expected a TLS failure \(reason): \(chain)", sourceLocation: sourceLocation)
}

/// The control beside each refusal: `security` gets a heartbeat from node 9 through.
private func expectAccepted(
    _ address: PeerAddress, _ security: TransportSecurityConfiguration, _ inbox: Inbox,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    let ack = try await PeerProbe.send([heartbeat], to: address, security: security, localID: 9)
    #expect(ack.messages == 1, sourceLocation: sourceLocation)
    #expect(inbox.messages.last == heartbeat, sourceLocation: sourceLocation)
}
