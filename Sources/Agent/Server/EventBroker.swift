import Synchronization

/// The event stream's hub: keeps the latest batches of state events (one
/// batch per applied index) and fans new ones out to subscribers.
///
/// Publishing is cheap and never blocks the apply path: a batch is appended
/// to a bounded buffer and yielded to each subscriber's own bounded stream; a
/// subscriber that falls behind by more than its buffer is ended with
/// ``EventStreamError/fellBehind``, and resubscribes from the index it reached.
public final class EventBroker: Sendable {
    public struct Batch: Sendable {
        public var index: UInt64
        public var events: [StateEvent]
    }

    private struct State {
        var buffer: [Batch] = []
        var start = 0
        var subscribers: [UInt64: AsyncThrowingStream<Batch, any Error>.Continuation] = [:]
        var nextID: UInt64 = 0
        /// The newest index published (or known when the broker started).
        var latest: UInt64 = 0
        /// Every batch after this index is held (older ones were evicted, or
        /// applied before the broker started).
        var completeAfter: UInt64 = 0
    }

    private let state = Mutex(State())
    private let capacity: Int
    private let subscriberBuffer: Int

    /// - Parameters:
    ///   - capacity: batches kept for subscribers that resume from an index.
    ///   - subscriberBuffer: batches a subscriber may lag before it is ended.
    public init(capacity: Int = 10_000, subscriberBuffer: Int = 4_096) {
        self.capacity = capacity
        self.subscriberBuffer = subscriberBuffer
    }

    /// Records the index the state was at before any batch was published here.
    func start(at index: UInt64) {
        state.withLock { s in
            s.latest = max(s.latest, index)
            s.completeAfter = max(s.completeAfter, index)
        }
    }

    func publish(index: UInt64, events: [StateEvent]) {
        guard !events.isEmpty else { return }
        let batch = Batch(index: index, events: events)
        state.withLock { s in
            s.latest = max(s.latest, index)
            if s.buffer.count - s.start >= capacity {
                s.completeAfter = s.buffer[s.start].index
                s.start += 1
                if s.start > capacity { s.buffer.removeFirst(s.start); s.start = 0 }
            }
            s.buffer.append(batch)
            for (id, continuation) in s.subscribers {
                if case .dropped = continuation.yield(batch) {
                    continuation.finish(throwing: EventStreamError.fellBehind(index: index))
                    s.subscribers[id] = nil
                }
            }
        }
    }

    /// The newest index published.
    public var latestIndex: UInt64 { state.withLock { $0.latest } }

    /// Batches after `fromIndex` (0: from now on), then every new one.
    /// - Throws: ``EventStreamError/indexTooOld(requested:oldest:)`` when the
    ///   buffer no longer reaches back to `fromIndex`.
    public func subscribe(fromIndex: UInt64) throws(EventStreamError) -> AsyncThrowingStream<Batch, any Error> {
        let (stream, continuation) = AsyncThrowingStream<Batch, any Error>.makeStream(bufferingPolicy: .bufferingOldest(subscriberBuffer))
        try state.withLock { s throws(EventStreamError) in
            if fromIndex > 0, fromIndex < s.latest {
                // Resuming: the buffer must hold every batch after fromIndex.
                guard fromIndex >= s.completeAfter else {
                    throw .indexTooOld(requested: fromIndex, oldest: s.completeAfter)
                }
                for batch in s.buffer[s.start...] where batch.index > fromIndex { continuation.yield(batch) }
            }
            let id = s.nextID
            s.nextID += 1
            s.subscribers[id] = continuation
            continuation.onTermination = { [weak self] _ in
                self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
            }
        }
        return stream
    }
}

/// Why an event stream could not start or ended.
public enum EventStreamError: Error, Sendable, Equatable, CustomStringConvertible {
    case indexTooOld(requested: UInt64, oldest: UInt64)
    case fellBehind(index: UInt64)

    public var description: String {
        switch self {
        case .indexTooOld(let requested, let oldest):
            "events after index \(requested) are no longer held here (the oldest is \(oldest)): read the state and subscribe from its index"
        case .fellBehind(let index):
            "the subscriber fell too far behind at index \(index): subscribe again from the last index it received"
        }
    }
}
