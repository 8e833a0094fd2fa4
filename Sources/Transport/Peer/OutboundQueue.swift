import RaftCore
import Synchronization

/// The limits of one lane's outbound queue and of the batches taken from it.
public struct QueueLimits: Sendable, Hashable {
    /// Messages the queue holds at most; more are dropped.
    public var maxMessages: Int
    /// Estimated bytes the queue holds at most; more are dropped (a single
    /// message larger than this is still accepted into an empty queue).
    public var maxBytes: Int
    /// Messages one batch carries at most.
    public var batchMessages: Int
    /// Estimated bytes one batch carries at most (a single larger message travels alone).
    public var batchBytes: Int

    public init(maxMessages: Int, maxBytes: Int, batchMessages: Int, batchBytes: Int) {
        self.maxMessages = max(1, maxMessages)
        self.maxBytes = max(1, maxBytes)
        self.batchMessages = max(1, batchMessages)
        self.batchBytes = max(1, batchBytes)
    }

    /// Heartbeats, votes and responses: many small messages.
    public static let priority = QueueLimits(maxMessages: 4096, maxBytes: 4 << 20, batchMessages: 512, batchBytes: 256 << 10)
    /// Appends and snapshot chunks.
    public static let bulk = QueueLimits(maxMessages: 4096, maxBytes: 64 << 20, batchMessages: 256, batchBytes: 2 << 20)
}

/// The state of an outbound queue, free of I/O and locking: what a push or a
/// take does, and whom to wake.
struct OutboundQueueState {
    let limits: QueueLimits
    private var messages: [Message] = []
    private var head = 0
    private(set) var bytes = 0
    private(set) var closed = false
    var waiter: CheckedContinuation<Void, Never>?

    init(limits: QueueLimits) { self.limits = limits }

    var count: Int { messages.count - head }

    enum PushResult {
        case accepted(wake: CheckedContinuation<Void, Never>?)
        case dropped
    }

    mutating func push(_ message: Message) -> PushResult {
        let size = message.estimatedWireSize
        guard !closed, count < limits.maxMessages, count == 0 || bytes + size <= limits.maxBytes else {
            return .dropped
        }
        messages.append(message)
        bytes += size
        let wake = waiter
        waiter = nil
        return .accepted(wake: wake)
    }

    /// Up to a batch of messages from the front, or nil when empty.
    mutating func takeBatch() -> [Message]? {
        guard count > 0 else { return nil }
        var taken = 0
        var takenBytes = 0
        var end = head
        while end < messages.count, taken < limits.batchMessages {
            let size = messages[end].estimatedWireSize
            if taken > 0, takenBytes + size > limits.batchBytes { break }
            taken += 1
            takenBytes += size
            end += 1
        }
        let batch = Array(messages[head..<end])
        head = end
        bytes -= takenBytes
        if head == messages.count {
            messages.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024, head * 2 > messages.count {
            messages.removeFirst(head)
            head = 0
        }
        return batch
    }

    /// Closes the queue; queued messages are discarded.
    mutating func close() -> CheckedContinuation<Void, Never>? {
        closed = true
        messages.removeAll()
        head = 0
        bytes = 0
        let wake = waiter
        waiter = nil
        return wake
    }
}

/// A bounded queue of outbound Raft messages for one lane of one peer. Pushing
/// never blocks: when the queue is full the message is dropped and counted
/// (Raft retransmits what matters). One consumer takes batches.
final class OutboundQueue: Sendable {
    private let state: Mutex<OutboundQueueState>
    private let droppedCount = Atomic<Int>(0)

    init(limits: QueueLimits) {
        state = Mutex(OutboundQueueState(limits: limits))
    }

    /// Adds a message; false when it was dropped because the queue is full or closed.
    @discardableResult
    func push(_ message: Message) -> Bool {
        switch state.withLock({ $0.push(message) }) {
        case .accepted(let wake):
            wake?.resume()
            return true
        case .dropped:
            droppedCount.add(1, ordering: .relaxed)
            return false
        }
    }

    /// Messages dropped so far.
    var dropped: Int { droppedCount.load(ordering: .relaxed) }

    /// Messages waiting.
    var count: Int { state.withLock { $0.count } }

    /// Whether ``close()`` was called.
    var isClosed: Bool { state.withLock { $0.closed } }

    /// The next batch, waiting for one if the queue is empty; nil once the
    /// queue is closed or the task is cancelled.
    func nextBatch() async -> [Message]? {
        while true {
            enum Step { case batch([Message]), finished, wait }
            let step: Step = state.withLock { state in
                if state.closed { return .finished }
                if let batch = state.takeBatch() { return .batch(batch) }
                return .wait
            }
            switch step {
            case .batch(let batch): return batch
            case .finished: return nil
            case .wait:
                if Task.isCancelled { return nil }
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        let resumeNow = state.withLock { state -> Bool in
                            if state.closed || state.count > 0 || Task.isCancelled { return true }
                            state.waiter = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    state.withLock { state -> CheckedContinuation<Void, Never>? in
                        let waiter = state.waiter
                        state.waiter = nil
                        return waiter
                    }?.resume()
                }
                if Task.isCancelled { return nil }
            }
        }
    }

    /// Closes the queue and wakes its consumer; later pushes are dropped.
    func close() {
        state.withLock { $0.close() }?.resume()
    }
}
