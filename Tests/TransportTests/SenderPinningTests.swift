import Foundation
import GRPCCore
import RaftCore
import Testing
@testable import Transport

/// A certificate names a role, not a node: the Raft listener holds a batch's
/// `sender` to its connection and its messages instead.
@Suite(.serialized) struct SenderPinningTests {
    @Test func aConnectionSpeaksForTheFirstSenderItNames() {
        var pin = SenderPin()
        #expect(pin.admit(sender: 2, messageSenders: [2, 2]) == nil)
        #expect(pin.sender == 2)
        #expect(pin.admit(sender: 3, messageSenders: [3]) == .connectionSpeaksForAnother(pinned: 2, claimed: 3))
        #expect(pin.admit(sender: 2, messageSenders: [2]) == nil)
        // Another connection has a pin of its own.
        var other = SenderPin()
        #expect(other.admit(sender: 3, messageSenders: [3]) == nil)
    }

    @Test func everyMessageMustBeFromTheBatchsSender() {
        var pin = SenderPin()
        #expect(pin.admit(sender: 2, messageSenders: [2, 4]) == .messageFromAnother(sender: 2, from: 4))
        #expect(pin.admit(sender: 0, messageSenders: [2]) == .noSender)
        // A refused batch pins nothing.
        #expect(pin.sender == nil)
        // An empty batch (a probe) needs no sender and pins nothing.
        #expect(pin.admit(sender: 0, messageSenders: []) == nil)
        #expect(pin.sender == nil)
    }

    /// Over mutual TLS: one connection may not speak as two servers, and a
    /// refusal ends the connection.
    @Test(.timeLimit(.minutes(1)))
    func oneConnectionCannotSpeakAsTwoServers() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try await withRaftServer(security: try pki.security(pki.server)) { port, inbox in
            let address = PeerAddress(host: "127.0.0.1", port: port)
            let security = try pki.security(pki.server2)
            let fromTwo = Message(type: .heartbeat, from: 2, to: 1)
            let fromThree = Message(type: .heartbeat, from: 3, to: 1)
            try await PeerProbe.withConnection(to: address, security: security) { connection in
                let ack = try await connection.send([[fromTwo]], sender: 2)
                #expect(ack.messages == 1)
                // The same connection, claiming another server.
                let error = await #expect(throws: RPCError.self) {
                    try await connection.send([[fromThree]], sender: 3)
                }
                #expect(error?.code == .permissionDenied)
                #expect(error?.message == "this connection speaks for node 2; it cannot send as node 3")
                // The refusal closed the connection.
                await #expect(throws: RPCError.self) { try await connection.send([[fromTwo]], sender: 2) }
            }
            // A batch switching sender midway: nothing of it is delivered.
            try await PeerProbe.withConnection(to: address, security: security) { connection in
                let first = try await connection.send([[fromTwo]], sender: 2)
                #expect(first.messages == 1)
                let switched = await #expect(throws: RPCError.self) {
                    try await connection.send([[fromTwo, fromThree]], sender: 2)
                }
                #expect(switched?.code == .permissionDenied)
                #expect(switched?.message == "a message from node 3 in a batch sent by node 2")
            }
            #expect(inbox.messages == [fromTwo, fromTwo])
            // A new connection speaks for whichever server it names first.
            let ack = try await PeerProbe.send([fromThree], to: address, security: security, localID: 3)
            #expect(ack.messages == 1)
            #expect(inbox.messages.last == fromThree)
        }
    }
}
