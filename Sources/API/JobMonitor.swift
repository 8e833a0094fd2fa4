import Foundation
import GRPCCore
import Model
import Synchronization
import Transport

/// Watches a job registration on a cluster until its ``JobRollout`` has an
/// outcome: what `caravan job run` shows while it waits, and what any Swift
/// program that submits jobs can use to wait for them.
///
/// ```swift
/// let registered = try await connection.jobs.register(request)
/// let rollout = JobRollout(jobKey: spec.key, evaluationID: EvaluationID(registered.evaluationID),
///                          jobVersion: Int(registered.jobVersion), goal: .running)
/// for try await update in JobMonitor(connection: connection).watch(rollout, afterIndex: registered.meta.index - 1) {
///     if case .finished(let outcome, _) = update { print(outcome) }
/// }
/// ```
///
/// It is driven by the event stream (no polling): it subscribes from just
/// before the registration's index, so it sees every change the registration
/// caused, in order. When the server's event buffer no longer reaches back
/// that far, it subscribes from the current index instead and reads the
/// evaluation and the job's allocations once (so nothing is missed, though
/// earlier steps are not reported as changes). When the stream breaks (a
/// server restarts), it resubscribes from the last index it saw, a bounded
/// number of times in a row.
///
/// Allocations the registration did not touch (a re-registration that
/// changed nothing) are not part of the rollout.
///
/// It does not time out by itself: cancel the task iterating the stream.
public struct JobMonitor: Sendable {
    /// What the watch reports.
    public enum Update: Sendable {
        /// Something changed on the way.
        case changed(JobRollout.Change)
        /// The rollout ended; the stream finishes after this.
        case finished(JobRollout.Outcome, JobRollout)
    }

    public let connection: ClusterConnection
    /// Consecutive failed subscriptions tolerated before the watch fails.
    public var maxConsecutiveFailures = 8

    public init(connection: ClusterConnection) {
        self.connection = connection
    }

    /// Watches `rollout` from after the Raft index `afterIndex` (use the
    /// registration's `meta.index - 1`). The stream finishes after
    /// ``Update/finished(_:_:)``, or throws when the cluster cannot be reached.
    public func watch(_ rollout: JobRollout, afterIndex: UInt64) -> AsyncThrowingStream<Update, any Error> {
        let (stream, continuation) = AsyncThrowingStream<Update, any Error>.makeStream()
        let task = Task {
            do {
                let state = WatchState(rollout: rollout, index: afterIndex)
                try await run(state, continuation: continuation)
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// Waits for the outcome, calling `onChange` for each change on the way.
    public func outcome(
        of rollout: JobRollout, afterIndex: UInt64, onChange: (JobRollout.Change) -> Void = { _ in }
    ) async throws -> (JobRollout.Outcome, JobRollout) {
        for try await update in watch(rollout, afterIndex: afterIndex) {
            switch update {
            case .changed(let change): onChange(change)
            case .finished(let outcome, let rollout): return (outcome, rollout)
            }
        }
        try Task.checkCancellation()
        throw APIError("the event stream ended before the job's rollout did")
    }

    // MARK: Driving the rollout

    /// The rollout and the index seen so far, shared by successive subscriptions.
    private final class WatchState: Sendable {
        /// `progressed`: the current subscription delivered a batch.
        let value: Mutex<(rollout: JobRollout, index: UInt64, done: Bool, progressed: Bool)>
        init(rollout: JobRollout, index: UInt64) { value = Mutex((rollout, index, false, false)) }
    }

    private func run(_ state: WatchState, continuation: AsyncThrowingStream<Update, any Error>.Continuation) async throws {
        var failures = 0
        var fromCurrent = false
        while true {
            try Task.checkCancellation()
            state.value.withLock { $0.progressed = false }
            var lastError: (any Error)?
            do {
                try await subscribeOnce(state, fromCurrent: fromCurrent, continuation: continuation)
                if state.value.withLock({ $0.done }) { return }
                // The server ended the stream (it is stopping): resubscribe.
            } catch let error as RPCError where error.code == .outOfRange {
                // The event buffer no longer reaches back: start from now; the reads cover the rest.
                guard !fromCurrent else { throw error }
                fromCurrent = true
                continue
            } catch let error as RPCError where Self.retryable(error.code) {
                lastError = error
            }
            let progressed = state.value.withLock { $0.progressed }
            if progressed { fromCurrent = false }
            failures = progressed ? 1 : failures + 1
            guard failures < maxConsecutiveFailures else {
                throw lastError ?? APIError("the server at \(connection.address) keeps ending the event stream")
            }
            try await Task.sleep(for: .milliseconds(min(5_000, 100 << min(failures, 6))))
        }
    }

    private static func retryable(_ code: RPCError.Code) -> Bool {
        code == .unavailable || code == .cancelled || code == .unknown || code == .internalError || code == .aborted
    }

    /// One subscription: follow its events (from now on, after reading the
    /// state once it is open, when `fromCurrent`) until the rollout is decided.
    private func subscribeOnce(
        _ state: WatchState, fromCurrent: Bool,
        continuation: AsyncThrowingStream<Update, any Error>.Continuation
    ) async throws {
        let key = state.value.withLock { $0.rollout.jobKey }
        var request = Caravan_Api_V1_SubscribeRequest()
        request.fromIndex = fromCurrent ? 0 : state.value.withLock { $0.index }
        request.namespace = key.namespace
        request.packed = true
        request.filters = ["Evaluation", "Allocation"].map { topic in
            var filter = Caravan_Api_V1_EventFilter()
            filter.topic = topic
            return filter
        }
        let connection = self.connection
        try await connection.events.subscribe(request) { response in
            var opened = false
            for try await batch in response.messages {
                state.value.withLock { $0.progressed = true }
                if !opened {
                    // The first batch says the stream is open.
                    opened = true
                    if fromCurrent {
                        // Events before now are not replayed: read what committed before.
                        try await Self.seed(state, connection: connection, continuation: continuation)
                        if Self.finishIfDone(state, continuation: continuation) { return }
                    }
                }
                for event in batch.events {
                    switch event.topic {
                    case "Evaluation":
                        if let e = try? event.payload(as: Evaluation.self) {
                            Self.feed(state, continuation: continuation) { $0.observe(e, at: event.index) }
                        }
                    case "Allocation":
                        if let a = try? event.payload(as: Allocation.self) {
                            Self.feed(state, continuation: continuation) { $0.observe(a, at: event.index) }
                        }
                    default:
                        break
                    }
                }
                // Only batches of events move the resume point: the first batch and
                // heartbeats carry the newest index even while older events are replayed.
                if !batch.events.isEmpty {
                    state.value.withLock { $0.index = max($0.index, batch.index) }
                }
                if Self.finishIfDone(state, continuation: continuation) { return }
            }
        }
    }

    /// Applies one observation and reports its changes.
    private static func feed(
        _ state: WatchState, continuation: AsyncThrowingStream<Update, any Error>.Continuation,
        _ observe: (inout JobRollout) -> [JobRollout.Change]
    ) {
        let changes = state.value.withLock { observe(&$0.rollout) }
        for change in changes { continuation.yield(.changed(change)) }
    }

    private static func finishIfDone(_ state: WatchState, continuation: AsyncThrowingStream<Update, any Error>.Continuation) -> Bool {
        let finished: (JobRollout.Outcome, JobRollout)? = state.value.withLock { value in
            guard !value.done, let outcome = value.rollout.outcome else { return nil }
            value.done = true
            return (outcome, value.rollout)
        }
        guard let finished else { return state.value.withLock { $0.done } }
        continuation.yield(.finished(finished.0, finished.1))
        return true
    }

    /// Reads the evaluation, the job's blocked evaluations, then its
    /// allocations (in that order, so the allocations an evaluation placed are
    /// never read before the evaluation).
    private static func seed(
        _ state: WatchState, connection: ClusterConnection,
        continuation: AsyncThrowingStream<Update, any Error>.Continuation
    ) async throws {
        let (key, evaluationID, version) = state.value.withLock { ($0.rollout.jobKey, $0.rollout.evaluationID, $0.rollout.jobVersion) }
        var get = Caravan_Api_V1_GetEvaluationRequest()
        get.evaluationID = evaluationID.rawValue
        let evaluation = try await connection.evaluations.get(get)
        if let e = try? WireJSON.decode(Evaluation.self, from: evaluation.evaluation.evaluationJson) {
            feed(state, continuation: continuation) { $0.observe(e, at: evaluation.meta.index) }
        }
        let reader = ClusterReader(connection: connection)
        for summary in try await reader.evaluations(ofJob: key, status: .blocked) {
            var request = Caravan_Api_V1_GetEvaluationRequest()
            request.evaluationID = summary.id
            let response = try await connection.evaluations.get(request)
            if let e = try? WireJSON.decode(Evaluation.self, from: response.evaluation.evaluationJson) {
                feed(state, continuation: continuation) { $0.observe(e, at: response.meta.index) }
            }
        }
        for summary in try await reader.allocations(ofJob: key) where summary.jobVersion >= UInt64(max(0, version)) {
            guard let (allocation, index) = try await reader.allocation(summary.id) else { continue }
            feed(state, continuation: continuation) { $0.observe(allocation, at: index) }
        }
    }
}
