import Foundation
import Executor
import Model

/// How one run of a task ended, as the allocation runner saw it.
enum TaskOutcome: Sendable, Hashable, CustomStringConvertible {
    /// The task ran and ended.
    case exited(TaskResult)
    /// It could not be set up or started; `retryable` says whether starting
    /// it again can help (an engine hiccup can pass, an unknown driver cannot).
    case notStarted(String, retryable: Bool)
    /// It ran before a client restart and could not be reattached, or the
    /// driver lost track of it.
    case lost(String)

    var description: String {
        switch self {
        case .exited(let result): result.description
        case .notStarted(let reason, _): reason
        case .lost(let reason): reason
        }
    }
}

/// What happens to a task after one of its runs ended.
enum TaskNext: Sendable, Hashable {
    /// It is done for good, successfully.
    case finished
    /// It starts again after the delay.
    case restart(after: Duration)
    /// It is done for good and fails the allocation, for this reason.
    case failed(String)
}

/// One task of an allocation: its reported state, its events, its restart
/// bookkeeping and the handle of its current (or last) run.
///
/// A plain state machine: ``AllocationRunner`` does the driver calls and feeds
/// their outcomes in, with the time.
struct TaskRunner: Sendable {
    /// Events kept per task, newest last (as Nomad keeps 10).
    static let eventLimit = 10
    /// Failure times kept to rebuild the restart tracker, at most.
    static let failureLimit = 100

    let name: String
    private(set) var state: TaskState
    /// The handle of the current run, or of the last one until it is destroyed.
    private(set) var handle: TaskHandle?
    private(set) var events: [AllocationRunStatus.TaskEvent]
    /// When the pending restart is due.
    private(set) var restartAt: Timestamp?
    /// The failures the restart tracker has seen, as far as they still matter
    /// to it: replaying them into a new tracker gives this one again.
    private(set) var failures: [Timestamp]
    private var tracker: RestartTracker

    /// A task not started yet.
    init(name: String, policy: RestartPolicy) {
        self.name = name
        self.state = TaskState()
        self.events = []
        self.failures = []
        self.tracker = RestartTracker(policy: policy)
    }

    /// A task as a checkpoint left it.
    init(name: String, policy: RestartPolicy, checkpoint: AllocationCheckpoint.TaskCheckpoint) {
        self.name = name
        self.state = checkpoint.state
        self.handle = checkpoint.handle
        self.events = checkpoint.events
        self.restartAt = checkpoint.restartAt
        self.failures = checkpoint.failures
        self.tracker = Self.replay(checkpoint.failures, policy: policy)
    }

    var checkpoint: AllocationCheckpoint.TaskCheckpoint {
        AllocationCheckpoint.TaskCheckpoint(state: state, handle: handle, failures: failures, restartAt: restartAt, events: events)
    }

    /// Whether this task has ended for good.
    var isDead: Bool { state.state == .dead }

    /// A run started.
    mutating func started(_ handle: TaskHandle, at time: Timestamp) {
        self.handle = handle
        restartAt = nil
        state.state = .running
        state.startedAt = time
        state.finishedAt = nil
        record(.started, "started by the \(handle.driver) driver", at: time)
    }

    /// A run started before a client restart was reattached.
    mutating func reattached(_ handle: TaskHandle, at time: Timestamp) {
        self.handle = handle
        state.state = .running
        if state.startedAt == nil { state.startedAt = AllocationRunner.timestamp(handle.startedAt) }
        record(.reattached, "reattached after a client restart", at: time)
    }

    /// The run's resources were released; the handle is no longer needed.
    mutating func releasedHandle() {
        handle = nil
    }

    /// A run ended by itself; applies the restart policy. Batch tasks that
    /// exit 0 are done; service and system tasks (`restartOnSuccess`) restart
    /// after any exit.
    mutating func ended(_ outcome: TaskOutcome, restartOnSuccess: Bool, at time: Timestamp) -> TaskNext {
        switch outcome {
        case .exited(let result):
            state.exitCode = result.exitCode
            record(.terminated, result.description, at: time)
            if result.succeeded && !restartOnSuccess {
                finish(failed: false, at: time)
                return .finished
            }
        case .notStarted(let reason, let retryable):
            record(.driverFailure, reason, at: time)
            if !retryable {
                record(.notRestarting, "the error would recur on every start", at: time)
                finish(failed: true, at: time)
                return .failed(reason)
            }
        case .lost(let reason):
            record(.driverFailure, reason, at: time)
        }
        failures.append(time)
        switch tracker.taskFailed(at: time) {
        case .restart(let delay):
            trimFailures()
            state.state = .pending
            state.restarts += 1
            state.lastRestart = time
            restartAt = time + delay
            record(.restarting, "restarting in \(delay.nomadText)", at: time)
            return .restart(after: delay)
        case .fail:
            let policy = tracker.policy
            let exhausted = "restart policy exhausted (\(policy.attempts) attempts in \(policy.interval.nomadText))"
            record(.notRestarting, exhausted, at: time)
            finish(failed: true, at: time)
            return .failed("\(outcome.description); \(exhausted)")
        }
    }

    /// The task was stopped by the client (allocation stopped, or a sibling
    /// failed), or will not start because of it.
    mutating func killed(_ outcome: TaskOutcome?, reason: String, at time: Timestamp) {
        guard !isDead else { return }
        let how = outcome.map { "\(reason): \($0.description)" } ?? reason
        record(.killed, how, at: time)
        restartAt = nil
        finish(failed: false, at: time)
    }

    /// Notes that a stop is on its way to the running task.
    mutating func killing(reason: String, at time: Timestamp) {
        record(.killing, reason, at: time)
    }

    private mutating func finish(failed: Bool, at time: Timestamp) {
        state.state = .dead
        state.failed = failed
        state.finishedAt = time
    }

    private mutating func record(_ kind: AllocationRunStatus.TaskEvent.Kind, _ message: String, at time: Timestamp) {
        events.append(AllocationRunStatus.TaskEvent(time: time, kind: kind, message: message))
        if events.count > Self.eventLimit { events.removeFirst(events.count - Self.eventLimit) }
    }

    /// Keeps the shortest tail of `failures` that rebuilds the tracker exactly
    /// (the tracker is a pure function of the failures it saw, but keeps its
    /// window private). Without one, the newest ``failureLimit`` are kept.
    private mutating func trimFailures() {
        for length in 1..<max(failures.count, 1) {
            let tail = Array(failures.suffix(length))
            if Self.replay(tail, policy: tracker.policy) == tracker {
                failures = tail
                return
            }
        }
        if failures.count > Self.failureLimit { failures.removeFirst(failures.count - Self.failureLimit) }
    }

    private static func replay(_ failures: [Timestamp], policy: RestartPolicy) -> RestartTracker {
        var tracker = RestartTracker(policy: policy)
        for time in failures { _ = tracker.taskFailed(at: time) }
        return tracker
    }
}
