/// What a client does after a task failed.
public enum RestartDecision: Hashable, Sendable {
    /// Restart in place after the delay.
    case restart(after: Duration)
    /// Give up: the allocation fails (and may be rescheduled elsewhere).
    case fail
}

/// Applies a group's ``RestartPolicy`` to a task's failures on the client:
/// `attempts` restarts per `interval`, `delay` apart; then fail, or in
/// `delay` mode wait for the interval to end and start counting again.
/// Pure: the caller passes the time of each failure.
public struct RestartTracker: Hashable, Sendable {
    public let policy: RestartPolicy
    private var windowStart: Timestamp?
    private var restartsInWindow = 0

    public init(policy: RestartPolicy) {
        self.policy = policy
    }

    /// Records a failure at `time` and says what to do.
    public mutating func taskFailed(at time: Timestamp) -> RestartDecision {
        if windowStart == nil || time >= windowStart! + policy.interval {
            windowStart = time
            restartsInWindow = 0
        }
        if restartsInWindow < policy.attempts {
            restartsInWindow += 1
            return .restart(after: policy.delay)
        }
        switch policy.mode {
        case .fail:
            return .fail
        case .delay:
            let wait = windowStart! + policy.interval - time
            windowStart = windowStart! + policy.interval
            restartsInWindow = 0
            return .restart(after: max(wait, policy.delay))
        }
    }
}
