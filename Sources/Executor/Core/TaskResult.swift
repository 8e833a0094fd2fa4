/// How a task ended.
public struct TaskResult: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The exit code; for a task killed by a signal, `128 + signal` (as shells and Docker report it).
    public var exitCode: Int32
    /// The signal that ended the task, if one did.
    public var signal: TaskSignal?
    /// The task was killed because it went over its memory limit.
    public var oomKilled: Bool
    /// The task ran past its timeout and was stopped.
    public var timedOut: Bool
    /// A driver's note on how the task ended (a trap, an engine error...), if any.
    public var message: String?

    /// A result.
    public init(
        exitCode: Int32,
        signal: TaskSignal? = nil,
        oomKilled: Bool = false,
        timedOut: Bool = false,
        message: String? = nil
    ) {
        self.exitCode = exitCode
        self.signal = signal
        self.oomKilled = oomKilled
        self.timedOut = timedOut
        self.message = message
    }

    /// The result for a shell-style status: above 128 reads as "killed by signal (status − 128)".
    public init(shellStatus status: Int32, oomKilled: Bool = false, timedOut: Bool = false, message: String? = nil) {
        let signal: TaskSignal? = (status > 128 && status < 128 + 65) ? TaskSignal(rawValue: status - 128) : nil
        self.init(exitCode: status, signal: signal, oomKilled: oomKilled, timedOut: timedOut, message: message)
    }

    /// The task exited by itself with code 0.
    public var succeeded: Bool { exitCode == 0 && signal == nil && !oomKilled && !timedOut }

    public var description: String {
        var parts = [signal.map { "killed by \($0)" } ?? "exited with \(exitCode)"]
        if oomKilled { parts.append("out of memory") }
        if timedOut { parts.append("timed out") }
        if let message { parts.append(message) }
        return parts.joined(separator: ", ")
    }
}

/// Resource use of a running task at one moment.
public struct TaskStats: Sendable, Hashable, Codable {
    /// CPU time used so far (user + system).
    public var cpuTime: Duration
    /// Memory in use now, in bytes.
    public var memoryBytes: Int
    /// Peak memory use, in bytes, where the driver knows it.
    public var peakMemoryBytes: Int?

    /// Stats.
    public init(cpuTime: Duration, memoryBytes: Int, peakMemoryBytes: Int? = nil) {
        self.cpuTime = cpuTime
        self.memoryBytes = memoryBytes
        self.peakMemoryBytes = peakMemoryBytes
    }
}

/// Whether a driver can run tasks on this node, and what it offers.
public struct DriverFingerprint: Sendable, Hashable, Codable {
    /// The driver's health on this node.
    public enum Health: Sendable, Hashable, Codable {
        /// Usable.
        case healthy
        /// Not usable, with the reason (engine not found, no permission, ...).
        case unavailable(reason: String)
    }

    /// The driver's name.
    public var driver: String
    /// Whether the driver is usable here.
    public var health: Health
    /// The version of the engine behind the driver, if it has one.
    public var version: String?
    /// Node attributes the scheduler can constrain on, such as
    /// `driver.exec.memory_limit = enforced`.
    public var attributes: [String: String]

    /// A fingerprint.
    public init(driver: String, health: Health, version: String? = nil, attributes: [String: String] = [:]) {
        self.driver = driver
        self.health = health
        self.version = version
        self.attributes = attributes
    }

    /// `true` when the driver can run tasks here.
    public var isHealthy: Bool { health == .healthy }
}
