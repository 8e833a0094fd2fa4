import Foundation
import Model

/// A one-off command as a batch job: one group, one task, run once — no
/// restarts, no reschedules — so that its exit is the command's. What
/// `caravan run` submits.
///
/// ```swift
/// let job = OneOffJob(command: ["/bin/echo", "hi"])
/// let spec = try job.spec()
/// ```
public struct OneOffJob: Sendable, Hashable {
    /// What runs the command.
    public enum Runtime: Sendable, Hashable {
        /// The `exec` driver: `command[0]` is a path or a name looked up in the task's `PATH`.
        case exec
        /// The `docker` driver with this image; `command` replaces the image's
        /// command (empty: the image's own).
        case docker(image: String)
        /// The `wasm` driver with this WASI module, a path the client node can
        /// read; `command` is the module's arguments.
        case wasm(module: String)
    }

    /// The name of the job's only group.
    public static let groupName = "run"
    /// The name of the job's only task.
    public static let taskName = "run"

    public var id: String
    public var runtime: Runtime
    public var command: [String]
    public var env: [String: String]
    public var namespace: String
    public var datacenters: [String]
    /// CPU in MHz.
    public var cpu: Int
    public var memoryMB: Int
    /// Longest the task may run; nil for no limit.
    public var timeout: Duration?

    /// A one-off job with a fresh ID (`run-` and 8 hex digits) unless `id` is given.
    public init(
        id: String? = nil, runtime: Runtime = .exec, command: [String], env: [String: String] = [:],
        namespace: String = "default", datacenters: [String] = ["*"], cpu: Int = 100, memoryMB: Int = 300,
        timeout: Duration? = nil
    ) {
        self.id = id ?? Self.freshID()
        self.runtime = runtime
        self.command = command
        self.env = env
        self.namespace = namespace
        self.datacenters = datacenters
        self.cpu = cpu
        self.memoryMB = memoryMB
        self.timeout = timeout
    }

    /// `run-` and 8 random hex digits.
    public static func freshID() -> String {
        "run-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(8)
    }

    /// The job specification, validated.
    /// - Throws: ``JobSpecError`` when it is not valid (an empty command, a bad
    ///   ID, resources out of range, …), each problem with its field path.
    public func spec() throws(JobSpecError) -> JobSpec {
        var problems: [SpecProblem] = []
        let driver: String
        var config: [String: SpecValue] = [:]
        switch runtime {
        case .exec:
            driver = "exec"
            if let program = command.first, !program.isEmpty {
                config["command"] = .string(program)
                config["args"] = .list(command.dropFirst().map { .string($0) })
            } else {
                problems.append(SpecProblem(path: "groups[0].tasks[0].config.command", message: "is required: give the command to run"))
            }
        case .docker(let image):
            driver = "docker"
            if image.isEmpty { problems.append(SpecProblem(path: "groups[0].tasks[0].config.image", message: "must not be empty")) }
            config["image"] = .string(image)
            if let program = command.first {
                config["command"] = .string(program)
                config["args"] = .list(command.dropFirst().map { .string($0) })
            }
        case .wasm(let module):
            driver = "wasm"
            if module.isEmpty { problems.append(SpecProblem(path: "groups[0].tasks[0].config.module", message: "must not be empty")) }
            config["module"] = .string(module)
            config["args"] = .list(command.map { .string($0) })
        }
        let task = TaskSpec(
            name: Self.taskName, driver: driver, config: config, env: env,
            resources: Resources(cpu: cpu, memoryMB: memoryMB), timeout: timeout)
        let group = GroupSpec(
            name: Self.groupName, count: 1, type: .batch,
            restart: RestartPolicy(attempts: 0, interval: .seconds(24 * 3600), delay: .seconds(15), mode: .fail),
            reschedule: ReschedulePolicy(attempts: 0, interval: .zero, delay: .seconds(5), delayFunction: .constant, maxDelay: .seconds(5), unlimited: false),
            tasks: [task])
        let spec = JobSpec(id: id, namespace: namespace, type: .batch, datacenters: datacenters, groups: [group])
        problems += spec.validate()
        guard problems.isEmpty else { throw JobSpecError(problems) }
        return spec
    }
}

/// How a task ended, as far as the servers know.
public enum TaskExitStatus {
    /// The exit code of `task`, read from an allocation's JSON as the server
    /// sent it (``ClusterReader/allocationWithJSON(_:)``): the task state's
    /// `exitCode` (or `exit_code`) when the client reported one, else an
    /// "exited with N" in its message or the allocation's client description.
    /// Nil when none is known.
    public static func exitCode(task: String, allocationJSON: Data) -> Int32? {
        guard let object = try? JSONSerialization.jsonObject(with: allocationJSON) as? [String: Any] else { return nil }
        let states = object["taskStates"] as? [String: Any]
        let state = states?[task] as? [String: Any]
        for key in ["exitCode", "exit_code"] {
            if let code = state?[key] as? NSNumber { return code.int32Value }
        }
        let texts = [state?["message"], state?["description"], object["clientDescription"]].compactMap { $0 as? String }
        for text in texts {
            if let code = exitCode(in: text) { return code }
        }
        return nil
    }

    /// The N of "exited with N" (or "exit code N") in `text`.
    static func exitCode(in text: String) -> Int32? {
        for marker in ["exited with ", "exit code "] {
            guard let range = text.range(of: marker) else { continue }
            let digits = text[range.upperBound...].prefix { $0.isNumber || $0 == "-" }
            if let code = Int32(digits) { return code }
        }
        return nil
    }
}
