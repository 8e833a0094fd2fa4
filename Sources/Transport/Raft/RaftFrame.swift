import NIOCore
import RaftCore
import SwiftProtobuf

/// One frame on a Raft connection: a 4-byte big-endian length (of what
/// follows it), a kind byte, and the kind's payload.
///
/// A sender writes batches; a probe ends with `finish` and reads one `ack`.
/// A receiver that refuses a connection writes a `refusal` and closes it.
enum RaftFrame: Equatable {
    /// A protobuf `MessageBatch`.
    case batch(Caravan_Raft_V1_MessageBatch)
    /// The sender is done and asks for an acknowledgement.
    case finish
    /// What the receiver accepted on the connection (a protobuf `Ack`).
    case ack(Caravan_Raft_V1_Ack)
    /// Why the receiver closes the connection.
    case refusal(RaftRefusal)

    static let lengthBytes = 4

    private enum Kind: UInt8 {
        case batch = 1, finish, ack, refusal
    }

    /// The frame of `messages` from `sender`, ready to write.
    static func batch(_ messages: [RaftCore.Message], sender: NodeID, allocator: ByteBufferAllocator) throws -> ByteBuffer {
        var wire = Caravan_Raft_V1_MessageBatch()
        wire.sender = sender
        wire.messages = messages.map(Caravan_Raft_V1_Message.init)
        return try RaftFrame.batch(wire).encoded(allocator: allocator)
    }

    func encoded(allocator: ByteBufferAllocator) throws -> ByteBuffer {
        let kind: Kind
        let payload: [UInt8]
        switch self {
        case .batch(let batch): (kind, payload) = (.batch, try batch.serializedBytes())
        case .finish: (kind, payload) = (.finish, [])
        case .ack(let ack): (kind, payload) = (.ack, try ack.serializedBytes())
        case .refusal(let refusal): (kind, payload) = (.refusal, [refusal.code.rawValue] + Array(refusal.reason.utf8))
        }
        var buffer = allocator.buffer(capacity: Self.lengthBytes + 1 + payload.count)
        buffer.writeInteger(UInt32(1 + payload.count))
        buffer.writeInteger(kind.rawValue)
        buffer.writeBytes(payload)
        return buffer
    }

    /// The frame whose kind byte and payload are `body`.
    init(decoding body: ByteBuffer) throws(RaftFrameError) {
        var body = body
        guard let raw = body.readInteger(as: UInt8.self), let kind = Kind(rawValue: raw) else {
            throw .unknownKind
        }
        let payload = Array(body.readableBytesView)
        do {
            switch kind {
            case .batch: self = .batch(try Caravan_Raft_V1_MessageBatch(serializedBytes: payload))
            case .finish: self = .finish
            case .ack: self = .ack(try Caravan_Raft_V1_Ack(serializedBytes: payload))
            case .refusal:
                guard let code = payload.first.flatMap(RaftRefusal.Code.init(rawValue:)) else { throw RaftFrameError.unknownKind }
                self = .refusal(RaftRefusal(code: code, reason: String(decoding: payload.dropFirst(), as: UTF8.self)))
            }
        } catch let error as RaftFrameError {
            throw error
        } catch {
            throw .malformed("\(error)")
        }
    }
}

/// Why a receiver closed a Raft connection, as it tells the sender.
public struct RaftRefusal: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: UInt8, Sendable {
        /// The certificate's role, or the sender a batch claims, is not allowed.
        case permissionDenied = 1
        /// The stream broke the framing.
        case invalidFrame = 2
    }

    public var code: Code
    public var reason: String

    public var description: String { reason }
}

/// Why bytes on a Raft connection are not a frame.
public enum RaftFrameError: Error, Hashable, Sendable, CustomStringConvertible {
    case tooLarge(bytes: Int, limit: Int)
    case unknownKind
    case malformed(String)

    public var description: String {
        switch self {
        case .tooLarge(let bytes, let limit): "a Raft frame of \(bytes) bytes exceeds the limit of \(limit)"
        case .unknownKind: "a Raft frame of an unknown kind"
        case .malformed(let reason): "a malformed Raft frame: \(reason)"
        }
    }
}

/// Splits a byte stream into frames.
struct RaftFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = RaftFrame
    let maxFrameBytes: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard Int(length) <= maxFrameBytes else { throw RaftFrameError.tooLarge(bytes: Int(length), limit: maxFrameBytes) }
        guard buffer.readableBytes >= RaftFrame.lengthBytes + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: RaftFrame.lengthBytes)
        let body = buffer.readSlice(length: Int(length))!
        context.fireChannelRead(wrapInboundOut(try RaftFrame(decoding: body)))
        return .continue
    }
}
