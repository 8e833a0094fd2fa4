import Foundation
import Testing

@testable import Executor

/// A fresh task directory under /tmp for one test.
func makeTaskDirectory(_ label: String = #function, inputs: [String: String] = [:]) throws -> TaskDirectory {
    let safe = label.filter { $0.isLetter || $0.isNumber }
    let root = "/tmp/caravan-executor-tests/\(safe)-\(UUID().uuidString.prefix(8))"
    return try TaskDirectory.create(at: root, inputs: inputs)
}

/// An exec task running `/bin/sh -c script`.
func shellTask(
    _ script: String,
    id: String = "t-\(UUID().uuidString.prefix(8))",
    resources: TaskResources = TaskResources(),
    killTimeout: Duration = .seconds(5),
    timeout: Duration? = nil,
    logs: LogPolicy = LogPolicy()
) -> TaskSpec {
    TaskSpec(
        id: id, name: "main", allocationID: "alloc-1", driver: "exec",
        config: ExecConfig(command: "/bin/sh", args: ["-c", script]).json,
        resources: resources, killTimeout: killTimeout, timeout: timeout, logs: logs
    )
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// Runs `body`, returning how long it took.
func timed<T>(_ body: () async throws -> T) async rethrows -> (T, Duration) {
    let clock = ContinuousClock()
    let start = clock.now
    let value = try await body()
    return (value, clock.now - start)
}
