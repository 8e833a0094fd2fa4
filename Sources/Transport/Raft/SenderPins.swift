import RaftCore

/// Which server each inbound connection speaks for.
///
/// Certificates name a role (`server.<region>.caravan`), not a node ID, so the
/// certificate alone cannot say which server a batch is from. What can be
/// held to is consistency: a connection speaks for the first sender ID it
/// names, on every stream, for as long as it lasts; every message in a batch
/// is from the batch's sender. A connection is told apart by its remote
/// address and its certificate's serial number, so a port reused by another
/// server's connection is not mistaken for the old one.
///
/// A plain state machine; ``RaftService`` holds it under a lock. Pins of
/// connections with no open stream are kept (a lane reopens its stream on the
/// same connection) up to `idleLimit`, oldest dropped first.
struct SenderPins {
    /// An inbound connection: its remote address and certificate serial.
    struct Connection: Hashable {
        var remotePeer: String
        var certificateSerial: String?
    }

    /// Why a batch is refused.
    enum Refusal: Error, Equatable, CustomStringConvertible {
        /// The batch carries messages but names no sender.
        case noSender
        /// A message's `from` is not the batch's sender.
        case messageFromAnother(sender: NodeID, from: NodeID)
        /// The connection already speaks for another server.
        case connectionSpeaksForAnother(pinned: NodeID, claimed: NodeID)

        var description: String {
            switch self {
            case .noSender:
                "the batch carries messages but names no sender"
            case .messageFromAnother(let sender, let from):
                "a message from node \(from) in a batch sent by node \(sender)"
            case .connectionSpeaksForAnother(let pinned, let claimed):
                "this connection speaks for node \(pinned); it cannot send as node \(claimed)"
            }
        }
    }

    private struct Pin {
        var sender: NodeID?
        var openStreams = 0
        /// When its last stream closed, in `clock` ticks (for eviction).
        var idleSince: UInt64 = 0
    }

    private var pins: [Connection: Pin] = [:]
    private var clock: UInt64 = 0
    let idleLimit: Int

    init(idleLimit: Int = 1024) {
        self.idleLimit = idleLimit
    }

    /// A stream opened on `connection`.
    mutating func open(_ connection: Connection) {
        pins[connection, default: Pin()].openStreams += 1
    }

    /// A stream on `connection` ended.
    mutating func close(_ connection: Connection) {
        guard var pin = pins[connection] else { return }
        pin.openStreams -= 1
        clock += 1
        pin.idleSince = clock
        pins[connection] = pin
        evictIdle()
    }

    /// Checks a batch of `connection` naming `sender` with messages from
    /// `messageSenders`; pins the connection to `sender` on its first batch
    /// with messages.
    mutating func admit(sender: NodeID, messageSenders: some Sequence<NodeID>, on connection: Connection) -> Refusal? {
        var hasMessages = false
        for from in messageSenders {
            hasMessages = true
            if sender != 0 && from != sender { return .messageFromAnother(sender: sender, from: from) }
        }
        guard hasMessages else { return nil }
        guard sender != 0 else { return .noSender }
        var pin = pins[connection, default: Pin()]
        if let pinned = pin.sender {
            return pinned == sender ? nil : .connectionSpeaksForAnother(pinned: pinned, claimed: sender)
        }
        pin.sender = sender
        pins[connection] = pin
        return nil
    }

    /// The sender `connection` is pinned to, if any.
    func sender(of connection: Connection) -> NodeID? {
        pins[connection]?.sender
    }

    var count: Int { pins.count }

    private mutating func evictIdle() {
        let idle = pins.filter { $0.value.openStreams <= 0 }
        guard idle.count > idleLimit else { return }
        let oldest = idle.sorted { $0.value.idleSince < $1.value.idleSince }.prefix(idle.count - idleLimit)
        for (connection, _) in oldest { pins[connection] = nil }
    }
}
