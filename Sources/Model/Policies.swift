/// What a client does when a task's restarts within `interval` are used up.
public enum RestartMode: String, CaseIterable, Hashable, Codable, Sendable {
    /// Fail the allocation (the scheduler may then reschedule it elsewhere).
    case fail
    /// Wait until the interval has passed, then restart again.
    case delay
}

/// Restarts of a failed task in place, on the same node, done by the client.
public struct RestartPolicy: Hashable, Sendable {
    /// Restarts allowed within `interval`.
    public var attempts: Int
    public var interval: Duration
    /// Wait before each restart.
    public var delay: Duration
    public var mode: RestartMode

    public init(attempts: Int, interval: Duration, delay: Duration, mode: RestartMode = .fail) {
        self.attempts = attempts
        self.interval = interval
        self.delay = delay
        self.mode = mode
    }

    /// Nomad's defaults: service and system 2 attempts in 30 minutes; batch and
    /// sysbatch 3 attempts in 24 hours; 15 s delay; mode fail.
    public static func defaults(for type: JobType) -> RestartPolicy {
        switch type {
        case .service, .system:
            RestartPolicy(attempts: 2, interval: .seconds(30 * 60), delay: .seconds(15), mode: .fail)
        case .batch, .sysbatch:
            RestartPolicy(attempts: 3, interval: .seconds(24 * 3600), delay: .seconds(15), mode: .fail)
        }
    }
}

/// How the wait between reschedule attempts grows.
public enum DelayFunction: String, CaseIterable, Hashable, Codable, Sendable {
    case constant
    case exponential
    case fibonacci
}

/// Replacement of a failed allocation on another node, done by the scheduler.
public struct ReschedulePolicy: Hashable, Sendable {
    /// Reschedules allowed within `interval` (ignored when `unlimited`).
    public var attempts: Int
    public var interval: Duration
    /// The first wait; later waits follow `delayFunction` up to `maxDelay`.
    public var delay: Duration
    public var delayFunction: DelayFunction
    public var maxDelay: Duration
    public var unlimited: Bool

    public init(attempts: Int, interval: Duration, delay: Duration, delayFunction: DelayFunction,
                maxDelay: Duration, unlimited: Bool) {
        self.attempts = attempts
        self.interval = interval
        self.delay = delay
        self.delayFunction = delayFunction
        self.maxDelay = maxDelay
        self.unlimited = unlimited
    }

    /// Nomad's defaults: service unlimited, exponential from 30 s up to 1 h;
    /// batch 1 attempt in 24 h, constant 5 s; system and sysbatch none.
    public static func defaults(for type: JobType) -> ReschedulePolicy {
        switch type {
        case .service:
            ReschedulePolicy(attempts: 0, interval: .zero, delay: .seconds(30), delayFunction: .exponential,
                             maxDelay: .seconds(3600), unlimited: true)
        case .batch:
            ReschedulePolicy(attempts: 1, interval: .seconds(24 * 3600), delay: .seconds(5),
                             delayFunction: .constant, maxDelay: .seconds(3600), unlimited: false)
        case .system, .sysbatch:
            ReschedulePolicy(attempts: 0, interval: .zero, delay: .zero, delayFunction: .constant,
                             maxDelay: .zero, unlimited: false)
        }
    }

    /// Whether this policy can ever reschedule.
    public var isEnabled: Bool { unlimited || attempts > 0 }

    /// The wait before reschedule number `attempt` (0-based), given the waits
    /// used so far.
    public func delay(forAttempt attempt: Int, previousDelays: [Duration]) -> Duration {
        var next: Duration
        switch delayFunction {
        case .constant:
            next = delay
        case .exponential:
            next = previousDelays.last.map { $0 * 2 } ?? delay
        case .fibonacci:
            if previousDelays.count >= 2 {
                next = previousDelays[previousDelays.count - 1] + previousDelays[previousDelays.count - 2]
            } else {
                next = delay
            }
        }
        if next > maxDelay, maxDelay > .zero { next = maxDelay }
        return next
    }
}

/// What to keep when a disconnected node comes back and its allocations have
/// been replaced meanwhile.
public enum ReconcileStrategy: String, CaseIterable, Hashable, Codable, Sendable {
    /// Keep the allocation on the better node (Caravan: the original unless
    /// its node became infeasible).
    case bestScore = "best_score"
    /// Keep the one that has run longest.
    case longestRunning = "longest_running"
    case keepOriginal = "keep_original"
    case keepReplacement = "keep_replacement"
}

/// Behaviour of allocations whose node stops heartbeating.
public struct DisconnectStrategy: Hashable, Sendable {
    /// How long an allocation may stay "unknown" before it is lost and
    /// replaced for good. Nil: lost at once.
    public var lostAfter: Duration?
    /// Whether to place a replacement while the allocation is unknown.
    public var replace: Bool
    public var reconcile: ReconcileStrategy

    public init(lostAfter: Duration? = nil, replace: Bool = true, reconcile: ReconcileStrategy = .bestScore) {
        self.lostAfter = lostAfter
        self.replace = replace
        self.reconcile = reconcile
    }
}

/// Rolling updates of service jobs.
public struct UpdateStrategy: Hashable, Sendable {
    /// Allocations replaced at a time. 0 disables deployments.
    public var maxParallel: Int
    /// New-version allocations placed beside the old before any old one stops.
    public var canary: Int
    /// How long an allocation must be healthy to count as healthy.
    public var minHealthyTime: Duration
    /// How long an allocation has to become healthy.
    public var healthyDeadline: Duration
    /// How long the deployment may go without progress.
    public var progressDeadline: Duration
    /// Revert to the last stable version when the deployment fails.
    public var autoRevert: Bool
    /// Promote canaries when all are healthy.
    public var autoPromote: Bool

    public init(maxParallel: Int = 1, canary: Int = 0, minHealthyTime: Duration = .seconds(10),
                healthyDeadline: Duration = .seconds(300), progressDeadline: Duration = .seconds(600),
                autoRevert: Bool = false, autoPromote: Bool = false) {
        self.maxParallel = maxParallel
        self.canary = canary
        self.minHealthyTime = minHealthyTime
        self.healthyDeadline = healthyDeadline
        self.progressDeadline = progressDeadline
        self.autoRevert = autoRevert
        self.autoPromote = autoPromote
    }
}

// MARK: - Document form

extension RestartPolicy: SpecMappable {
    public static func read(from r: inout SpecReader) -> RestartPolicy {
        read(from: &r, defaults: .defaults(for: .service))
    }

    static func read(from r: inout SpecReader, defaults: RestartPolicy) -> RestartPolicy {
        var p = defaults
        if let v = r.int("attempts") { p.attempts = v }
        if let v = r.duration("interval") { p.interval = v }
        if let v = r.duration("delay") { p.delay = v }
        if let v = r.choice("mode", RestartMode.self) { p.mode = v }
        return p
    }

    public var specValue: SpecValue {
        var w = SpecWriter()
        w.put("attempts", attempts)
        w.put("interval", interval)
        w.put("delay", delay)
        w.put("mode", mode.rawValue)
        return w.value
    }
}

extension ReschedulePolicy: SpecMappable {
    public static func read(from r: inout SpecReader) -> ReschedulePolicy {
        read(from: &r, defaults: .defaults(for: .service))
    }

    static func read(from r: inout SpecReader, defaults: ReschedulePolicy) -> ReschedulePolicy {
        var p = defaults
        if let v = r.int("attempts") {
            p.attempts = v
            if !r.has("unlimited") { p.unlimited = false }
        }
        if let v = r.duration("interval") { p.interval = v }
        if let v = r.duration("delay") { p.delay = v }
        if let v = r.choice("delay_function", DelayFunction.self) { p.delayFunction = v }
        if let v = r.duration("max_delay") { p.maxDelay = v }
        if let v = r.bool("unlimited") { p.unlimited = v }
        return p
    }

    public var specValue: SpecValue {
        var w = SpecWriter()
        w.put("attempts", attempts)
        w.put("interval", interval)
        w.put("delay", delay)
        w.put("delay_function", delayFunction.rawValue)
        w.put("max_delay", maxDelay)
        w.put("unlimited", unlimited)
        return w.value
    }
}

extension DisconnectStrategy: SpecMappable {
    public static func read(from r: inout SpecReader) -> DisconnectStrategy {
        var d = DisconnectStrategy()
        d.lostAfter = r.duration("lost_after")
        if let v = r.bool("replace") { d.replace = v }
        if let v = r.choice("reconcile", ReconcileStrategy.self) { d.reconcile = v }
        return d
    }

    public var specValue: SpecValue {
        var w = SpecWriter()
        w.put("lost_after", lostAfter)
        w.put("replace", replace)
        w.put("reconcile", reconcile.rawValue)
        return w.value
    }
}

extension UpdateStrategy: SpecMappable {
    public static func read(from r: inout SpecReader) -> UpdateStrategy {
        var u = UpdateStrategy()
        if let v = r.int("max_parallel") { u.maxParallel = v }
        if let v = r.int("canary") { u.canary = v }
        if let v = r.duration("min_healthy_time") { u.minHealthyTime = v }
        if let v = r.duration("healthy_deadline") { u.healthyDeadline = v }
        if let v = r.duration("progress_deadline") { u.progressDeadline = v }
        if let v = r.bool("auto_revert") { u.autoRevert = v }
        if let v = r.bool("auto_promote") { u.autoPromote = v }
        return u
    }

    public var specValue: SpecValue {
        var w = SpecWriter()
        w.put("max_parallel", maxParallel)
        w.put("canary", canary)
        w.put("min_healthy_time", minHealthyTime)
        w.put("healthy_deadline", healthyDeadline)
        w.put("progress_deadline", progressDeadline)
        w.put("auto_revert", autoRevert)
        w.put("auto_promote", autoPromote)
        return w.value
    }
}
