import Foundation
import GRPCCore
import RaftCore
import Testing
@testable import Transport

/// A certificate names a role, not a node: the Raft service holds a batch's
/// `sender` to its connection and its messages instead.
@Suite(.serialized) struct SenderPinningTests {
    private let connection = SenderPins.Connection(remotePeer: "ipv4:127.0.0.1:5000", certificateSerial: "01")

    @Test func aConnectionSpeaksForTheFirstSenderItNames() {
        var pins = SenderPins()
        pins.open(connection)
        #expect(pins.admit(sender: 2, messageSenders: [2, 2], on: connection) == nil)
        #expect(pins.sender(of: connection) == 2)
        #expect(pins.admit(sender: 3, messageSenders: [3], on: connection) == .connectionSpeaksForAnother(pinned: 2, claimed: 3))
        // Another stream on the same connection is held to the same sender.
        pins.open(connection)
        #expect(pins.admit(sender: 3, messageSenders: [3], on: connection) == .connectionSpeaksForAnother(pinned: 2, claimed: 3))
        #expect(pins.admit(sender: 2, messageSenders: [2], on: connection) == nil)
        // Another connection (another port, or another certificate on a reused port) is not.
        let otherPort = SenderPins.Connection(remotePeer: "ipv4:127.0.0.1:5001", certificateSerial: "01")
        let otherCertificate = SenderPins.Connection(remotePeer: "ipv4:127.0.0.1:5000", certificateSerial: "02")
        #expect(pins.admit(sender: 3, messageSenders: [3], on: otherPort) == nil)
        #expect(pins.admit(sender: 3, messageSenders: [3], on: otherCertificate) == nil)
    }

    @Test func everyMessageMustBeFromTheBatchsSender() {
        var pins = SenderPins()
        #expect(pins.admit(sender: 2, messageSenders: [2, 4], on: connection) == .messageFromAnother(sender: 2, from: 4))
        #expect(pins.admit(sender: 0, messageSenders: [2], on: connection) == .noSender)
        // A refused batch pins nothing.
        #expect(pins.sender(of: connection) == nil)
        // An empty batch (a probe) needs no sender and pins nothing.
        #expect(pins.admit(sender: 0, messageSenders: [], on: connection) == nil)
        #expect(pins.sender(of: connection) == nil)
    }

    @Test func aPinOutlivesItsStreamsButIdlePinsAreBounded() {
        var pins = SenderPins(idleLimit: 2)
        let connections = (0..<4).map { SenderPins.Connection(remotePeer: "ipv4:10.0.0.1:\($0)", certificateSerial: nil) }
        for (offset, connection) in connections.enumerated() {
            pins.open(connection)
            #expect(pins.admit(sender: NodeID(offset + 1), messageSenders: [NodeID(offset + 1)], on: connection) == nil)
        }
        // A lane reopens its stream on the same connection: still pinned.
        pins.close(connections[0])
        #expect(pins.sender(of: connections[0]) == 1)
        pins.close(connections[1])
        pins.close(connections[2])
        // Three idle pins over a limit of two: the oldest idle one goes; the open one stays.
        #expect(pins.sender(of: connections[0]) == nil)
        #expect(pins.sender(of: connections[1]) == 2)
        #expect(pins.sender(of: connections[2]) == 3)
        #expect(pins.sender(of: connections[3]) == 4)
        #expect(pins.count == 3)
    }

    /// Over mutual TLS: one connection (two streams) may not speak as two servers.
    @Test(.timeLimit(.minutes(1)))
    func oneConnectionCannotSpeakAsTwoServers() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try await withRaftServer(security: try pki.security(pki.server)) { port, inbox in
            let address = PeerAddress(host: "127.0.0.1", port: port)
            let fromTwo = Message(type: .heartbeat, from: 2, to: 1)
            let fromThree = Message(type: .heartbeat, from: 3, to: 1)
            try await PeerProbe.withConnection(to: address, security: try pki.security(pki.server2)) { connection in
                let ack = try await connection.send([[fromTwo]], sender: 2)
                #expect(ack.messages == 1)
                // A second stream on the same connection, claiming another server.
                let error = await #expect(throws: RPCError.self) {
                    try await connection.send([[fromThree]], sender: 3)
                }
                #expect(error?.code == .permissionDenied)
                #expect(error?.message == "this connection speaks for node 2; it cannot send as node 3")
                // One stream switching sender midway: its first batch is delivered, the second is not.
                let switched = await #expect(throws: RPCError.self) {
                    try await connection.send([[fromTwo], [fromThree]], sender: 2)
                }
                #expect(switched?.code == .permissionDenied)
                #expect(switched?.message == "a message from node 3 in a batch sent by node 2")
                // The pinned sender still gets through on this connection.
                #expect(try await connection.send([[fromTwo]], sender: 2).messages == 1)
            }
            #expect(inbox.messages == [fromTwo, fromTwo, fromTwo])
            // A new connection speaks for whichever server it names first.
            let ack = try await PeerProbe.send([fromThree], to: address, security: try pki.security(pki.server2), localID: 3)
            #expect(ack.messages == 1)
            #expect(inbox.messages.last == fromThree)
        }
    }
}
