import Model

/// The leader's queue of evaluations for its scheduler workers, as a plain
/// state machine (the caller supplies time).
///
/// - Priority order: higher job priority first, then older first.
/// - One at a time per job: while an evaluation of a job is out with a
///   worker, later ones of that job wait (and only the newest waiting one is
///   kept: it supersedes the others, which the caller cancels).
/// - At-least-once: a dequeued evaluation must be acked; one that is nacked,
///   or not acked within the delivery timeout, is delivered again, up to
///   ``deliveryLimit`` times, after which it is handed back as failed.
/// - Delayed: an evaluation with `waitUntil` in the future is held until then.
public struct EvaluationBroker: Sendable {
    public var deliveryTimeout: Duration
    public var deliveryLimit: Int

    private struct Outstanding: Sendable {
        var evaluation: Evaluation
        var deadline: Timestamp
        var token: UInt64
    }

    /// Ready to be dequeued, best first; `readyJobs` says which jobs have one there.
    private var ready = ReadyQueue()
    private var readyJobs: Set<JobKey> = []
    /// Waiting behind an outstanding evaluation of the same job.
    private var waitingByJob: [JobKey: Evaluation] = [:]
    private var delayed: [Evaluation] = []
    private var outstanding: [EvaluationID: Outstanding] = [:]
    private var outstandingJobs: Set<JobKey> = []
    private var deliveries: [EvaluationID: Int] = [:]
    private var known: Set<EvaluationID> = []
    private var nextToken: UInt64 = 0

    public init(deliveryTimeout: Duration = .seconds(30), deliveryLimit: Int = 3) {
        self.deliveryTimeout = deliveryTimeout
        self.deliveryLimit = deliveryLimit
    }

    /// Evaluations the broker holds in any state.
    public var count: Int { known.count }

    /// The jobs of the evaluations that are or will be planned before one
    /// enqueued now, one entry per evaluation: ready, waiting behind their
    /// job's outstanding one, or outstanding (not yet acknowledged: their
    /// plans may not be applied). Not the delayed ones. (A job has at most
    /// one evaluation in each of the three.)
    public var queuedJobs: [JobKey] {
        Array(readyJobs) + waitingByJob.keys + outstandingJobs
    }

    /// How many evaluations ``dequeue(now:)`` could hand out at `now`, at
    /// most: the ready ones and the delayed ones due (a due one may still
    /// wait behind its job's outstanding one).
    public func dequeueable(now: Timestamp) -> Int {
        ready.count + delayed.count { $0.waitUntil.map { $0 <= now } ?? true }
    }

    /// Whether ``queuedJobs`` is empty (delayed evaluations may remain).
    public var isDrained: Bool { ready.isEmpty && waitingByJob.isEmpty && outstanding.isEmpty }

    /// Evaluations that a newer one of the same job made unnecessary; the
    /// caller marks them cancelled (``takeSuperseded()``).
    private var superseded: [Evaluation] = []

    /// Adds an evaluation; one already held is ignored.
    public mutating func enqueue(_ evaluation: Evaluation, now: Timestamp) {
        guard known.insert(evaluation.id).inserted else { return }
        if let wait = evaluation.waitUntil, wait > now {
            delayed.append(evaluation)
            return
        }
        place(evaluation)
    }

    /// Hands over (and forgets) the evaluations superseded so far.
    public mutating func takeSuperseded() -> [Evaluation] {
        defer { superseded = [] }
        return superseded
    }

    private mutating func place(_ evaluation: Evaluation) {
        let key = evaluation.jobKey
        guard outstandingJobs.contains(key) || readyJobs.contains(key) else {
            insertReady(evaluation)
            return
        }
        // Each evaluation reconciles the whole job: only the newest waiting one matters.
        guard let previous = waitingByJob[key] else {
            waitingByJob[key] = evaluation
            return
        }
        let (keep, drop) = previous.createdAt > evaluation.createdAt ? (previous, evaluation) : (evaluation, previous)
        waitingByJob[key] = keep
        known.remove(drop.id)
        superseded.append(drop)
    }

    private mutating func insertReady(_ evaluation: Evaluation) {
        readyJobs.insert(evaluation.jobKey)
        ready.push(evaluation)
    }

    /// The next evaluation to schedule, with the token its ack must carry.
    public mutating func dequeue(now: Timestamp) -> (Evaluation, token: UInt64)? {
        promote(now: now)
        guard let evaluation = ready.pop() else { return nil }
        readyJobs.remove(evaluation.jobKey)
        nextToken += 1
        outstanding[evaluation.id] = Outstanding(evaluation: evaluation, deadline: now + deliveryTimeout, token: nextToken)
        outstandingJobs.insert(evaluation.jobKey)
        deliveries[evaluation.id, default: 0] += 1
        return (evaluation, nextToken)
    }

    /// The evaluation was processed: forget it and release its job's next one.
    public mutating func ack(_ id: EvaluationID, token: UInt64) {
        guard let out = outstanding[id], out.token == token else { return }
        finish(id, job: out.evaluation.jobKey)
    }

    /// The evaluation could not be processed now: deliver it again, or, past
    /// the delivery limit, hand it back to be marked failed.
    /// - Returns: the evaluation when it exhausted its deliveries.
    public mutating func nack(_ id: EvaluationID, token: UInt64) -> Evaluation? {
        guard let out = outstanding[id], out.token == token else { return nil }
        return redeliverOrFail(out.evaluation)
    }

    /// Takes back evaluations whose worker did not answer in time.
    /// - Returns: those that exhausted their deliveries.
    public mutating func expire(now: Timestamp) -> [Evaluation] {
        var failed: [Evaluation] = []
        for out in outstanding.values where out.deadline <= now {
            if let f = redeliverOrFail(out.evaluation) { failed.append(f) }
        }
        return failed
    }

    private mutating func redeliverOrFail(_ evaluation: Evaluation) -> Evaluation? {
        outstanding[evaluation.id] = nil
        outstandingJobs.remove(evaluation.jobKey)
        if deliveries[evaluation.id, default: 0] >= deliveryLimit {
            finish(evaluation.id, job: evaluation.jobKey)
            return evaluation
        }
        insertReady(evaluation)
        return nil
    }

    private mutating func finish(_ id: EvaluationID, job: JobKey) {
        outstanding[id] = nil
        outstandingJobs.remove(job)
        deliveries[id] = nil
        known.remove(id)
        if let next = waitingByJob.removeValue(forKey: job) { insertReady(next) }
    }

    private mutating func promote(now: Timestamp) {
        guard delayed.contains(where: { $0.waitUntil.map { $0 <= now } ?? true }) else { return }
        var still: [Evaluation] = []
        for evaluation in delayed {
            if let wait = evaluation.waitUntil, wait > now {
                still.append(evaluation)
            } else {
                place(evaluation)
            }
        }
        delayed = still
    }

    /// The earliest time a delayed evaluation becomes ready.
    public var nextWakeUp: Timestamp? {
        delayed.compactMap(\.waitUntil).min()
    }
}

/// The broker's ready evaluations as a binary heap: higher priority first,
/// then older first, then first enqueued. O(log n) in and out, where a
/// sorted array cost O(n) per enqueue once thousands wait (a burst of
/// registrations outrunning the scheduler).
struct ReadyQueue: Sendable {
    private var heap: [(evaluation: Evaluation, sequence: UInt64)] = []
    private var nextSequence: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    /// The evaluations, in no particular order.
    var evaluations: [Evaluation] { heap.map(\.evaluation) }

    mutating func push(_ evaluation: Evaluation) {
        heap.append((evaluation, nextSequence))
        nextSequence += 1
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard before(child, parent) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Evaluation? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast().evaluation
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var best = parent
            if left < heap.count, before(left, best) { best = left }
            if right < heap.count, before(right, best) { best = right }
            guard best != parent else { break }
            heap.swapAt(parent, best)
            parent = best
        }
        return top
    }

    private func before(_ i: Int, _ j: Int) -> Bool {
        let a = heap[i], b = heap[j]
        if a.evaluation.priority != b.evaluation.priority { return a.evaluation.priority > b.evaluation.priority }
        if a.evaluation.createdAt != b.evaluation.createdAt { return a.evaluation.createdAt < b.evaluation.createdAt }
        return a.sequence < b.sequence
    }
}
