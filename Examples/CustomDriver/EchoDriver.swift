import Executor
import Foundation
import Synchronization

/// An example third-party task driver: "runs" a task by writing its configured
/// `message` to the task's stdout log and exiting with its `exit_code`, after an
/// optional `delay_ms`. It shows everything a custom executor implements: the
/// configuration block, the handle, logs through ``LogRotator``, wait, stop and
/// recover.
///
/// Register it with the agent's registry next to the built-in drivers:
///
/// ```swift
/// let registry = DriverRegistry.builtIn()
/// try registry.register(EchoDriver())
/// // a task with `driver: "echo"` and config {"message": "hi", "exit_code": 0} now runs here
/// ```
public final class EchoDriver: TaskDriver {
    /// `echo`.
    public let name = "echo"

    private let runs = Mutex<[String: Run]>([:])

    private final class Run: Sendable {
        let result = Mutex<TaskResult?>(nil)
        let finished = AsyncStream<TaskResult>.makeStream()
    }

    /// An echo driver.
    public init() {}

    /// Registers an ``EchoDriver`` in `registry` (what the agent does at start-up).
    public static func register(in registry: DriverRegistry) throws(TaskDriverError) {
        try registry.register(EchoDriver())
    }

    public func fingerprint() async -> DriverFingerprint {
        DriverFingerprint(driver: name, health: .healthy, version: "1.0", attributes: ["driver.echo": "true"])
    }

    public func start(_ task: TaskSpec, in directory: TaskDirectory) async throws(TaskDriverError) -> TaskHandle {
        guard let message = task.config["message"]?.stringValue else {
            throw .invalidConfig(driver: name, reason: "\"message\" must be a string")
        }
        let exitCode = Int32(task.config["exit_code"]?.intValue ?? 0)
        let delay = task.config["delay_ms"]?.intValue ?? 0
        let handle = TaskHandle(driver: name, spec: task, directory: directory, startedAt: Date(), state: ["message": .string(message)])
        let stdout = LogRotator(directory: directory.logs, name: "\(task.name).stdout", policy: task.logs)
        let run = Run()
        runs.withLock { $0[task.id] = run }
        Task {
            try? await Task.sleep(for: .milliseconds(delay))
            stdout.write(Array((message + "\n").utf8))
            stdout.close()
            Self.finish(run, TaskResult(exitCode: exitCode))
        }
        return handle
    }

    public func wait(_ handle: TaskHandle) async throws(TaskDriverError) -> TaskResult {
        let run = try self.run(for: handle)
        if let result = run.result.withLock({ $0 }) { return result }
        for await result in run.finished.stream { return result }
        return run.result.withLock { $0 } ?? TaskResult(exitCode: 1, message: "no result")
    }

    public func signal(_ handle: TaskHandle, _ signal: TaskSignal) async throws(TaskDriverError) {
        Self.finish(try run(for: handle), TaskResult(exitCode: 128 + signal.rawValue, signal: signal))
    }

    public func stop(_ handle: TaskHandle) async throws(TaskDriverError) {
        try await signal(handle, handle.killSignal)
    }

    public func stats(_ handle: TaskHandle) async throws(TaskDriverError) -> TaskStats {
        _ = try run(for: handle)
        return TaskStats(cpuTime: .zero, memoryBytes: 0)
    }

    public func recover(_ handle: TaskHandle) async throws(TaskDriverError) {
        try checkOwnership(of: handle)
        throw .notRecoverable(taskID: handle.taskID, reason: "echo tasks live in the agent's memory")
    }

    public func destroy(_ handle: TaskHandle) async throws(TaskDriverError) {
        try checkOwnership(of: handle)
        runs.withLock { _ = $0.removeValue(forKey: handle.taskID) }
    }

    private func run(for handle: TaskHandle) throws(TaskDriverError) -> Run {
        try checkOwnership(of: handle)
        guard let run = runs.withLock({ $0[handle.taskID] }) else { throw .unknownTask(handle.taskID) }
        return run
    }

    private static func finish(_ run: Run, _ result: TaskResult) {
        let first = run.result.withLock { current -> Bool in
            guard current == nil else { return false }
            current = result
            return true
        }
        if first {
            run.finished.continuation.yield(result)
            run.finished.continuation.finish()
        }
    }
}
