import Foundation
import RaftCore
import Testing

@testable import Transport

/// Every RaftCore message type survives encoding to protobuf bytes and back.
@Suite struct MessageWireTests {
    /// A message of `type` with every field the type may use set to something non-zero.
    static func sample(_ type: MessageType) -> Message {
        let conf = ConfState(voters: [1, 2, 3], learners: [7])
        let metadata = SnapshotMetadata(index: 4_000, term: 9, confState: conf)
        var message = Message(type: type, from: 1, to: 2, term: 9, logTerm: 8, index: 41, commit: 40)
        switch type {
        case .append:
            message.entries = [
                Entry(term: 8, index: 42, data: Array("set x=1".utf8)),
                Entry(term: 9, index: 43, kind: .confChange, data: ConfChange(.addLearner, 7, context: Array("10.0.0.7:4647".utf8)).encoded()),
                Entry(term: 9, index: 44),
            ]
        case .appendResponse, .snapshotResponse:
            message.reject = true
            message.rejectHint = 17
        case .vote, .preVote:
            message.leadershipTransfer = true
        case .voteResponse, .preVoteResponse:
            message.reject = true
        case .heartbeat, .heartbeatResponse, .readIndex, .readIndexResponse:
            message.context = [0, 1, 2, 254, 255]
        case .snapshot:
            message.snapshot = SnapshotChunk(metadata: metadata, offset: 1 << 20, totalSize: 3 << 20, data: (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        case .timeoutNow:
            break
        case .propose:
            message.entries = [Entry(term: 0, index: 0, kind: .tagged, data: Array("tag:command".utf8))]
            message.context = Array("tag:".utf8)
        case .proposeResponse:
            message.reject = true
            message.rejectHint = 3
            message.context = Array("tag:".utf8)
        }
        return message
    }

    static func roundTrip(_ message: Message) throws -> Message {
        let bytes: [UInt8] = try Caravan_Raft_V1_Message(message).serializedBytes()
        return try Message(wire: Caravan_Raft_V1_Message(serializedBytes: bytes))
    }

    @Test(arguments: MessageType.allCases)
    func everyMessageTypeRoundTrips(type: MessageType) throws {
        let message = Self.sample(type)
        #expect(try Self.roundTrip(message) == message)
    }

    @Test(arguments: MessageType.allCases)
    func anEmptyMessageOfEveryTypeRoundTrips(type: MessageType) throws {
        let message = Message(type: type)
        #expect(try Self.roundTrip(message) == message)
    }

    @Test func aSnapshotChunkWithEmptyDataAndNoMembersRoundTrips() throws {
        let message = Message(type: .snapshot, from: 3, to: 1, term: 2, snapshot: SnapshotChunk(metadata: SnapshotMetadata(), offset: 0, totalSize: 0, data: []))
        let decoded = try Self.roundTrip(message)
        #expect(decoded == message)
        #expect(decoded.snapshot?.isLast == true)
    }

    @Test func extremeValuesRoundTrip() throws {
        let message = Message(
            type: .append, from: .max, to: .max - 1, term: .max, logTerm: .max, index: .max,
            entries: [Entry(term: .max, index: .max, data: [UInt8](repeating: 0xAB, count: 1 << 16))],
            commit: .max, reject: true, rejectHint: .max, context: [UInt8](repeating: 0, count: 3),
            leadershipTransfer: true
        )
        #expect(try Self.roundTrip(message) == message)
    }

    @Test func aBatchOfMixedMessagesRoundTripsInOrder() throws {
        let messages = MessageType.allCases.map(Self.sample)
        var batch = Caravan_Raft_V1_MessageBatch()
        batch.sender = 1
        batch.messages = messages.map(Caravan_Raft_V1_Message.init)
        let decoded = try Caravan_Raft_V1_MessageBatch(serializedBytes: try batch.serializedBytes() as [UInt8])
        #expect(decoded.sender == 1)
        #expect(try decoded.messages.map { try Message(wire: $0) } == messages)
    }

    @Test func wireTypesAreRaftCoreRawValuesPlusOne() {
        for type in MessageType.allCases {
            #expect(Caravan_Raft_V1_MessageType(type).rawValue == Int(type.rawValue) + 1)
        }
    }

    @Test func anUnsetOrUnknownMessageTypeIsATypedError() {
        var wire = Caravan_Raft_V1_Message()
        #expect(throws: WireDecodingError.unknownMessageType(0)) { try Message(wire: wire) }
        wire.type = .UNRECOGNIZED(99)
        #expect(throws: WireDecodingError.unknownMessageType(99)) { try Message(wire: wire) }
    }

    @Test func anUnknownEntryKindIsATypedError() {
        var wire = Caravan_Raft_V1_Message(Message(type: .append, entries: [Entry(term: 1, index: 1)]))
        wire.entries[0].kind = .UNRECOGNIZED(5)
        #expect(throws: WireDecodingError.unknownEntryKind(5)) { try Message(wire: wire) }
    }

    @Test func hardStateAndConfStateRoundTrip() throws {
        let hard = HardState(term: 5, vote: 2, commit: 99)
        let hardWire = try Caravan_Raft_V1_HardState(serializedBytes: try Caravan_Raft_V1_HardState(hard).serializedBytes() as [UInt8])
        #expect(HardState(wire: hardWire) == hard)
        let conf = ConfState(voters: [3, 1, 2], learners: [9])
        let confWire = try Caravan_Raft_V1_ConfState(serializedBytes: try Caravan_Raft_V1_ConfState(conf).serializedBytes() as [UInt8])
        #expect(ConfState(wire: confWire) == conf)
    }
}
