/// What a driver needs to run one task: the Executor's own, driver-neutral view
/// of a task. (The agent maps the job specification's task onto it.)
public struct TaskSpec: Sendable, Hashable, Codable {
    /// A unique identifier of this run of the task (for example `<allocation>-<task>`).
    /// Drivers use it to name their resources: cgroups, containers, log files.
    public var id: String
    /// The task's name within its allocation; log files are named after it.
    public var name: String
    /// The allocation the task belongs to.
    public var allocationID: String
    /// The driver that runs the task (`exec`, `docker`, `wasm` or a custom one).
    public var driver: String
    /// The driver's own configuration block (command, image, module, ...).
    public var config: JSONValue
    /// Environment variables for the task, on top of the ones the driver sets.
    public var env: [String: String]
    /// The resources the task may use; drivers enforce what they can.
    public var resources: TaskResources
    /// The user to run as, where the driver supports it (`exec`); `nil` keeps the agent's.
    public var user: String?
    /// The signal a stop sends first.
    public var killSignal: TaskSignal
    /// How long a stop waits after `killSignal` before sending `SIGKILL`.
    public var killTimeout: Duration
    /// How long the task may run before it is stopped and reported as timed out; `nil` for no limit.
    public var timeout: Duration?
    /// How the task's stdout and stderr are kept.
    public var logs: LogPolicy

    /// A task specification; only `id`, `driver` and `config` are required.
    public init(
        id: String,
        name: String? = nil,
        allocationID: String = "",
        driver: String,
        config: JSONValue,
        env: [String: String] = [:],
        resources: TaskResources = TaskResources(),
        user: String? = nil,
        killSignal: TaskSignal = .terminate,
        killTimeout: Duration = .seconds(5),
        timeout: Duration? = nil,
        logs: LogPolicy = LogPolicy()
    ) {
        self.id = id
        self.name = name ?? id
        self.allocationID = allocationID
        self.driver = driver
        self.config = config
        self.env = env
        self.resources = resources
        self.user = user
        self.killSignal = killSignal
        self.killTimeout = killTimeout
        self.timeout = timeout
        self.logs = logs
    }
}

/// Resource limits of a task. `nil` means "no limit asked for".
public struct TaskResources: Sendable, Hashable, Codable {
    /// Memory limit in bytes.
    public var memoryBytes: Int?
    /// CPU asked for, in cores (1.5 = one and a half cores of CPU time per
    /// second): the task's share of the CPU when tasks contend for it, or a
    /// cap where its driver's configuration asks for a hard limit.
    public var cpuCores: Double?

    /// Resource limits.
    public init(memoryBytes: Int? = nil, cpuCores: Double? = nil) {
        self.memoryBytes = memoryBytes
        self.cpuCores = cpuCores
    }
}

/// How many bytes of a task's stdout and stderr are kept, in rotating files.
public struct LogPolicy: Sendable, Hashable, Codable {
    /// A file is rotated once it holds this many bytes.
    public var maxFileSize: Int
    /// At most this many files are kept per stream; the oldest go first.
    public var maxFiles: Int

    /// A log policy; the default keeps 10 files of 10 MiB per stream.
    public init(maxFileSize: Int = 10 << 20, maxFiles: Int = 10) {
        self.maxFileSize = max(1, maxFileSize)
        self.maxFiles = max(1, maxFiles)
    }
}
