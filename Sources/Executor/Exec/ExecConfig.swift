import Foundation

/// The `exec` driver's configuration block:
///
/// ```json
/// { "command": "/usr/bin/python3", "args": ["job.py"], "cwd": "local", "cpu_hard_limit": false }
/// ```
///
/// `command` is a path (absolute, or relative to the task directory) or a name
/// looked up in the task's `PATH`; `cwd` is absolute or relative to the task
/// directory (default: the task directory); `cpu_hard_limit` caps the task at
/// the CPU it asks for instead of giving it that share of contended CPU.
public struct ExecConfig: Sendable, Hashable, Codable {
    /// The program to run.
    public var command: String
    /// Its arguments.
    public var args: [String]
    /// The working directory.
    public var cwd: String?
    /// Whether the CPU the task asks for is a cap rather than a share.
    public var cpuHardLimit: Bool

    /// An exec configuration.
    public init(command: String, args: [String] = [], cwd: String? = nil, cpuHardLimit: Bool = false) {
        self.command = command
        self.args = args
        self.cwd = cwd
        self.cpuHardLimit = cpuHardLimit
    }

    /// The configuration as the JSON value a ``TaskSpec`` carries.
    public var json: JSONValue {
        var object: [String: JSONValue] = ["command": .string(command), "args": .array(args.map { .string($0) })]
        if let cwd { object["cwd"] = .string(cwd) }
        if cpuHardLimit { object["cpu_hard_limit"] = .bool(true) }
        return .object(object)
    }

    /// Reads a task's configuration block.
    public init(_ config: JSONValue) throws(TaskDriverError) {
        guard case .object(let members) = config else {
            throw .invalidConfig(driver: "exec", reason: "the configuration must be an object with a \"command\"")
        }
        for key in members.keys where !["command", "args", "cwd", "cpu_hard_limit"].contains(key) {
            throw .invalidConfig(driver: "exec", reason: "unknown key \"\(key)\" (known: command, args, cwd, cpu_hard_limit)")
        }
        guard let command = members["command"]?.stringValue, !command.isEmpty else {
            throw .invalidConfig(driver: "exec", reason: "\"command\" must be a non-empty string")
        }
        var args: [String] = []
        if let value = members["args"] {
            guard let strings = value.stringArrayValue else {
                throw .invalidConfig(driver: "exec", reason: "\"args\" must be an array of strings")
            }
            args = strings
        }
        var cwd: String?
        if let value = members["cwd"] {
            guard let string = value.stringValue else { throw .invalidConfig(driver: "exec", reason: "\"cwd\" must be a string") }
            cwd = string
        }
        self.init(command: command, args: args, cwd: cwd, cpuHardLimit: try members.flag("cpu_hard_limit", driver: "exec"))
    }
}

/// The environment every task gets: the task's own variables on top of a
/// default `PATH` and `CARAVAN_*` variables naming its directories.
enum TaskEnvironment {
    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    static func variables(for task: TaskSpec, directory: TaskDirectory, guestPaths: Bool) -> [String: String] {
        var env: [String: String] = [
            "PATH": defaultPath,
            "CARAVAN_TASK_NAME": task.name,
            "CARAVAN_TASK_ID": task.id,
            "CARAVAN_ALLOC_ID": task.allocationID,
        ]
        if guestPaths {
            env["CARAVAN_LOCAL_DIR"] = "/local"
            env["CARAVAN_SECRETS_DIR"] = "/secrets"
            env["CARAVAN_INPUTS_DIR"] = "/inputs"
            env["CARAVAN_OUTPUTS_DIR"] = "/outputs"
        } else {
            env["CARAVAN_TASK_DIR"] = directory.root
            env["CARAVAN_LOCAL_DIR"] = directory.local
            env["CARAVAN_SECRETS_DIR"] = directory.secrets
            env["CARAVAN_INPUTS_DIR"] = directory.inputsDirectory
            env["CARAVAN_OUTPUTS_DIR"] = directory.outputs
        }
        env.merge(task.env) { _, task in task }
        return env
    }
}
