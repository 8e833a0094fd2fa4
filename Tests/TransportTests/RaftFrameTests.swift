import NIOCore
import NIOPosix
import RaftCore
import Testing
@testable import Transport

/// The Raft port's framing, and what it does with bytes that are no frame.
@Suite(.serialized) struct RaftFrameTests {
    @Test func everyKindOfFrameRoundTrips() throws {
        var batch = Caravan_Raft_V1_MessageBatch()
        batch.sender = 3
        batch.messages = [Caravan_Raft_V1_Message(Message(type: .append, from: 3, to: 1, term: 2, index: 7, entries: [Entry(term: 2, index: 8, data: [1, 2, 3])]))]
        var ack = Caravan_Raft_V1_Ack()
        ack.batches = 2
        ack.messages = 5
        let frames: [RaftFrame] = [
            .batch(batch), .finish, .ack(ack), .refusal(RaftRefusal(code: .permissionDenied, reason: "not a server")),
        ]
        for frame in frames {
            var buffer = try frame.encoded(allocator: ByteBufferAllocator())
            let read = buffer.readInteger(as: UInt32.self)
            let length = try #require(read)
            #expect(Int(length) == buffer.readableBytes)
            #expect(try RaftFrame(decoding: buffer) == frame)
        }
    }

    @Test func bytesThatAreNoFrameAreTypedErrors() {
        #expect(throws: RaftFrameError.unknownKind) { try RaftFrame(decoding: ByteBuffer(bytes: [])) }
        #expect(throws: RaftFrameError.unknownKind) { try RaftFrame(decoding: ByteBuffer(bytes: [9])) }
        #expect(throws: RaftFrameError.unknownKind) { try RaftFrame(decoding: ByteBuffer(bytes: [4, 99])) }
        #expect {
            try RaftFrame(decoding: ByteBuffer(bytes: [1, 0xFF, 0xFF, 0xFF]))
        } throws: { error in
            guard case .malformed = error as? RaftFrameError else { return false }
            return true
        }
    }

    /// A sender that breaks the framing is told why and cut off; the
    /// listener goes on serving everyone else.
    @Test(.timeLimit(.minutes(1)))
    func theListenerRefusesBrokenFramingAndServesOn() async throws {
        try await withRaftServer(security: .plaintext()) { port, raftPort, inbox in
            let cases: [(bytes: [UInt8], reason: String)] = [
                ([0xFF, 0xFF, 0xFF, 0xFF], "a Raft frame of 4294967295 bytes exceeds the limit of 67108864"),
                ([0, 0, 0, 1, 9], "a Raft frame of an unknown kind"),
                ([0, 0, 0, 4, 1, 0xFF, 0xFF, 0xFF], "a malformed Raft frame"),
                ([0, 0, 0, 1, 3], "a Raft connection carries batches and finish frames only"),
            ]
            for (bytes, reason) in cases {
                let link = try await RaftLink.connect(
                    host: "127.0.0.1", port: raftPort, tls: nil, serverName: "", loop: MultiThreadedEventLoopGroup.singleton.next())
                link.write(ByteBuffer(bytes: bytes))
                try await link.channel.closeFuture.get()
                let refusal = try #require(link.failure as? RaftRefusal, "\(String(describing: link.failure))")
                #expect(refusal.code == .invalidFrame)
                #expect(refusal.reason.hasPrefix(reason), "\(refusal.reason)")
            }
            #expect(inbox.messages.isEmpty)
            let heartbeat = Message(type: .heartbeat, from: 2, to: 1)
            let ack = try await PeerProbe.send([heartbeat], to: PeerAddress(host: "127.0.0.1", port: port), security: .plaintext(), localID: 2)
            #expect(ack.messages == 1)
            #expect(inbox.messages == [heartbeat])
        }
    }
}
