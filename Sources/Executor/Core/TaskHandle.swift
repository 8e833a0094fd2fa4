import Foundation

/// What an agent keeps about a started task so that it can reach it again, also
/// after the agent restarts: the agent persists handles and passes them to
/// ``TaskDriver/recover(_:)``.
///
/// The `state` member is the driver's own (a process id and start time, a
/// container id, ...); other code treats it as opaque.
public struct TaskHandle: Sendable, Hashable, Codable {
    /// The name of the driver that started the task.
    public var driver: String
    /// The task's ``TaskSpec/id``.
    public var taskID: String
    /// The task's name, which names its log files.
    public var taskName: String
    /// The task directory the task runs in.
    public var directory: TaskDirectory
    /// When the task was started.
    public var startedAt: Date
    /// The signal a stop sends first.
    public var killSignal: TaskSignal
    /// How long a stop waits after ``killSignal`` before `SIGKILL`.
    public var killTimeout: Duration
    /// When the task times out, if it has a timeout.
    public var deadline: Date?
    /// The log policy the task was started with.
    public var logs: LogPolicy
    /// Driver-specific state needed to reattach.
    public var state: JSONValue

    /// A handle; drivers create these in ``TaskDriver/start(_:in:)``.
    public init(
        driver: String,
        spec: TaskSpec,
        directory: TaskDirectory,
        startedAt: Date,
        state: JSONValue
    ) {
        self.driver = driver
        self.taskID = spec.id
        self.taskName = spec.name
        self.directory = directory
        self.startedAt = startedAt
        self.killSignal = spec.killSignal
        self.killTimeout = spec.killTimeout
        self.deadline = spec.timeout.map { startedAt.addingTimeInterval($0.timeInterval) }
        self.logs = spec.logs
        self.state = state
    }

    /// The task's stdout log (rotating files in the task directory).
    public var stdout: LogReader { LogReader(directory: directory.logs, name: "\(taskName).stdout") }
    /// The task's stderr log (rotating files in the task directory).
    public var stderr: LogReader { LogReader(directory: directory.logs, name: "\(taskName).stderr") }

    /// The handle as JSON, for an agent to persist.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }

    /// A handle read back from ``encoded()``.
    public static func decode(from data: Data) throws -> TaskHandle {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(TaskHandle.self, from: data)
    }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
