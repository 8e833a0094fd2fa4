/// How the leader currently replicates to one follower.
public enum ProgressState: Sendable, Hashable {
    /// The follower's log position is unknown: send one append per heartbeat
    /// interval and back off on rejection until a match is found.
    case probe
    /// The follower is known to match: pipeline appends up to the in-flight window.
    case replicate
    /// The follower needs a snapshot (the entries it lacks are compacted).
    case snapshot
}

/// A bounded window of append messages in flight to one follower, each
/// remembered by the last index it carried and its byte size.
struct Inflights: Sendable {
    private var ring: [(index: UInt64, bytes: UInt64)] = []
    private var start = 0
    private(set) var count = 0
    private(set) var bytes: UInt64 = 0
    let capacity: Int
    let maxBytes: UInt64

    init(capacity: Int, maxBytes: UInt64) {
        self.capacity = capacity
        self.maxBytes = maxBytes
    }

    var isFull: Bool { count >= capacity || (maxBytes > 0 && bytes >= maxBytes) }

    mutating func add(index: UInt64, bytes: UInt64) {
        precondition(!isFull, "in-flight window overflow")
        if ring.count < capacity { ring.append((0, 0)) }
        let slot = (start + count) % capacity
        ring[slot] = (index, bytes)
        count += 1
        self.bytes &+= bytes
    }

    /// Frees every message whose last index is at most `index` (acknowledged).
    mutating func free(upTo index: UInt64) {
        while count > 0 {
            let head = ring[start]
            if head.index > index { break }
            bytes &-= head.bytes
            start = (start + 1) % capacity
            count -= 1
        }
        if count == 0 { start = 0 }
    }

    /// Frees the oldest message in flight.
    mutating func freeFirst() {
        guard count > 0 else { return }
        free(upTo: ring[start].index)
    }

    mutating func reset() {
        start = 0
        count = 0
        bytes = 0
    }
}

/// The leader's view of one member's log.
public struct Progress: Sendable {
    /// The highest index known to be replicated on the member.
    public internal(set) var match: UInt64
    /// The next index to send.
    public internal(set) var next: UInt64
    public internal(set) var state: ProgressState = .probe
    /// In `.snapshot`: the index of the snapshot being sent.
    public internal(set) var pendingSnapshot: UInt64 = 0
    /// Whether the member was heard from during the current election timeout.
    public internal(set) var recentActive = false
    /// In `.probe`: an append was sent and no answer came yet.
    var probeSent = false
    var inflights: Inflights
    public internal(set) var isLearner: Bool

    init(next: UInt64, inflightCapacity: Int, inflightBytes: UInt64, isLearner: Bool) {
        self.match = 0
        self.next = next
        self.inflights = Inflights(capacity: inflightCapacity, maxBytes: inflightBytes)
        self.isLearner = isLearner
    }

    mutating func becomeProbe() {
        if state == .snapshot {
            let pending = pendingSnapshot
            reset(to: .probe)
            next = max(match + 1, pending + 1)
        } else {
            reset(to: .probe)
            next = match + 1
        }
    }

    mutating func becomeReplicate() {
        reset(to: .replicate)
        next = match + 1
    }

    mutating func becomeSnapshot(index: UInt64) {
        reset(to: .snapshot)
        pendingSnapshot = index
    }

    private mutating func reset(to newState: ProgressState) {
        probeSent = false
        pendingSnapshot = 0
        state = newState
        inflights.reset()
    }

    /// Records that the member holds everything up to `index`; returns whether that was news.
    mutating func maybeUpdate(_ index: UInt64) -> Bool {
        var updated = false
        if match < index {
            match = index
            updated = true
            probeSent = false
        }
        next = max(next, index + 1)
        return updated
    }

    /// Records that an append of `count` entries ending at `lastIndex` was
    /// sent. Only appends that carry entries take a slot of the window.
    mutating func sentEntries(count: Int, lastIndex: UInt64, bytes: UInt64) {
        switch state {
        case .replicate:
            guard count > 0 else { return }
            next = lastIndex + 1
            inflights.add(index: lastIndex, bytes: bytes)
        case .probe:
            probeSent = true
        case .snapshot:
            preconditionFailure("sending entries to a member in snapshot state")
        }
    }

    /// Handles a rejected append at `rejected`; returns false when the rejection is stale.
    mutating func maybeDecrease(rejected: UInt64, matchHint: UInt64) -> Bool {
        if state == .replicate {
            if rejected <= match { return false }
            next = match + 1
            return true
        }
        if next - 1 != rejected { return false }
        next = max(min(rejected, matchHint + 1), match + 1)
        probeSent = false
        return true
    }

    /// Whether the leader must hold back appends to this member for now.
    var isPaused: Bool {
        switch state {
        case .probe: probeSent
        case .replicate: inflights.isFull
        case .snapshot: true
        }
    }
}
