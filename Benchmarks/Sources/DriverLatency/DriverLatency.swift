import Executor
import Foundation

/// Start→exit latency of an empty task for each built-in driver: exec (`true`),
/// docker (busybox `true`) and wasm (an empty `_start`, `empty.wat` beside this file).
///
///     scripts/dockerd-test.sh start                  # for the docker figures
///     cd Benchmarks && swift run -c release DriverLatency [iterations]
///
/// Each figure is the time from `start` to `wait` returning, per task, in the
/// same process; the docker engine is the private test engine unless
/// CARAVAN_BENCH_DOCKER_SOCKET names another.
@main
struct DriverLatency {
    /// `empty.wat`, compiled by wabt's wat2wasm.
    static let emptyModule: [UInt8] = [
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00,
        0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x13, 0x02, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x06,
        0x5f, 0x73, 0x74, 0x61, 0x72, 0x74, 0x00, 0x00, 0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b,
    ]

    static func main() async throws {
        let iterations = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 30
        let root = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp/") + "/caravan-driver-latency"
        try? FileManager.default.removeItem(atPath: root)
        let socket = ProcessInfo.processInfo.environment["CARAVAN_BENCH_DOCKER_SOCKET"] ?? "/tmp/caravan-dockerd/docker.sock"
        print("driver-latency: start→exit of an empty task, \(iterations) runs per driver (after 2 warm-up runs)")
        print("driver     median     p90        min        max")

        try await measure("exec", driver: ExecDriver(), iterations: iterations, root: root) { id in
            TaskSpec(id: id, name: "bench", driver: "exec", config: ExecConfig(command: "/bin/true").json)
        }
        // Tasks that arrive one at a time, as on a quiet client: each start
        // then meets the kernel's cgroup locks cold (an RCU grace period).
        try await measure("exec-20ms", driver: ExecDriver(), iterations: iterations, root: root, apart: .milliseconds(20)) { id in
            TaskSpec(id: id, name: "bench", driver: "exec", config: ExecConfig(command: "/bin/true").json)
        }
        try await throughput("exec", driver: ExecDriver(), tasks: iterations * 10, inFlight: 64, root: root) { id in
            TaskSpec(id: id, name: "bench", driver: "exec", config: ExecConfig(command: "/bin/true").json)
        }
        let wasmDirectory = try TaskDirectory.create(at: root + "/module")
        try Data(emptyModule).write(to: URL(fileURLWithPath: wasmDirectory.local + "/empty.wasm"))
        try await measure("wasm", driver: WasmDriver(), iterations: iterations, root: root) { id in
            TaskSpec(id: id, name: "bench", driver: "wasm", config: WasmConfig(module: wasmDirectory.local + "/empty.wasm").json)
        }
        let docker = DockerDriver(socketPath: socket)
        let fingerprint = await docker.fingerprint()
        if fingerprint.isHealthy {
            try await measure("docker", driver: docker, iterations: iterations, root: root) { id in
                TaskSpec(id: id, name: "bench", driver: "docker", config: DockerConfig(image: "caravan-test/busybox:1", command: "true").json)
            }
        } else {
            print("docker  skipped: \(fingerprint.health) (run scripts/dockerd-test.sh start)")
        }
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Start→exit of one task at a time, `apart` between one's end and the next's start.
    static func measure(
        _ label: String, driver: any TaskDriver, iterations: Int, root: String, apart: Duration = .zero, spec: @Sendable (String) -> TaskSpec
    ) async throws {
        let clock = ContinuousClock()
        var samples: [Duration] = []
        for index in 0..<(iterations + 2) {
            let id = "\(label)-\(index)"
            let directory = try TaskDirectory.create(at: "\(root)/\(id)")
            let start = clock.now
            let handle = try await driver.start(spec(id), in: directory)
            let result = try await driver.wait(handle)
            let elapsed = clock.now - start
            precondition(result.succeeded, "\(label) task failed: \(result)")
            try await driver.destroy(handle)
            if index >= 2 { samples.append(elapsed) }
            if apart > .zero { try await Task.sleep(for: apart) }
        }
        samples.sort()
        func ms(_ d: Duration) -> String { String(format: "%7.2f ms", Double(d.components.attoseconds) / 1e15 + Double(d.components.seconds) * 1000) }
        let p90 = samples[min(samples.count - 1, samples.count * 9 / 10)]
        print("\(label.padding(toLength: 10, withPad: " ", startingAt: 0)) \(ms(samples[samples.count / 2]))  \(ms(p90))  \(ms(samples[0]))  \(ms(samples[samples.count - 1]))")
    }

    /// Tasks run concurrently, `inFlight` at a time, each with its own task
    /// directory, start to destroy: what one client could sustain.
    static func throughput(_ label: String, driver: any TaskDriver, tasks: Int, inFlight: Int, root: String, spec: @escaping @Sendable (String) -> TaskSpec) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<tasks {
                if index >= inFlight { try await group.next() }
                group.addTask {
                    let id = "\(label)-parallel-\(index)"
                    let directory = try TaskDirectory.create(at: "\(root)/\(id)")
                    let handle = try await driver.start(spec(id), in: directory)
                    let result = try await driver.wait(handle)
                    precondition(result.succeeded, "\(label) task failed: \(result)")
                    try await driver.destroy(handle)
                }
            }
            try await group.waitForAll()
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("\(label) concurrent: \(tasks) tasks, \(inFlight) in flight: \(String(format: "%.0f", Double(tasks) / seconds)) tasks/s")
    }
}
