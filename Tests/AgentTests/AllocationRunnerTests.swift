import Foundation
import Synchronization
import Testing
import Executor
import Model
@testable import Agent
#if canImport(Glibc)
import Glibc
#endif

/// Everything an allocation runner reported.
private final class Reports: Sendable {
    private let state = Mutex<(statuses: [AllocationRunStatus], checkpoints: [AllocationCheckpoint])>(([], []))

    var statuses: [AllocationRunStatus] { state.withLock { $0.statuses } }
    var checkpoints: [AllocationCheckpoint] { state.withLock { $0.checkpoints } }

    func status(_ status: AllocationRunStatus) { state.withLock { $0.statuses.append(status) } }
    func checkpoint(_ checkpoint: AllocationCheckpoint) { state.withLock { $0.checkpoints.append(checkpoint) } }
}

private struct TimedOut: Error, CustomStringConvertible {
    var last: AllocationRunStatus
    var description: String { "the condition did not hold within the time limit; last status: \(last)" }
}

/// One allocation of a one-group job, run in a fresh directory with its own exec driver.
private struct Fixture {
    let job: Job
    let allocation: Allocation
    let root: String
    let reports = Reports()

    init(type: JobType = .batch, restart: RestartPolicy? = nil, tasks: [Model::TaskSpec], label: String = #function) {
        let id = "\(label.filter { $0.isLetter })-\(UUID().uuidString.prefix(8))"
        let group = GroupSpec(name: "work", type: type, restart: restart, tasks: tasks)
        job = Job(spec: JobSpec(id: "job-\(id)", name: "Job \(id)", type: type, groups: [group]), version: 3)
        allocation = Allocation(id: AllocationID("alloc-\(id)"), index: 2, jobID: job.spec.id, jobVersion: 3, jobType: type,
                                group: "work", nodeID: "node-1", resources: AllocatedResources())
        root = "/tmp/caravan-agent-tests/\(id)"
    }

    /// A runner for the allocation with a registry of its own (as a client process has).
    func runner(datasets: [String: String] = [:], driver: ExecDriver = ExecDriver()) -> AllocationRunner {
        let registry = DriverRegistry()
        registry.replace(driver)
        let reports = reports
        return AllocationRunner(allocation: allocation, job: job, drivers: registry, allocationsDirectory: root + "/allocs",
                                datasets: datasets, onStatus: { reports.status($0) }, onCheckpoint: { reports.checkpoint($0) })
    }

    /// The task directory of `task`.
    func taskDirectory(_ task: String) -> TaskDirectory {
        TaskDirectory(root: "\(root)/allocs/\(allocation.id.rawValue)/\(task)")
    }
}

/// An exec task running `/bin/sh -c script`.
private func shell(_ name: String, _ script: String, killTimeout: Duration = .seconds(1),
                   inputs: [DataInput] = []) -> Model::TaskSpec {
    Model::TaskSpec(name: name, driver: "exec",
                    config: ["command": .string("/bin/sh"), "args": .list([.string("-c"), .string(script)])],
                    killTimeout: killTimeout, inputs: inputs)
}

/// Restarts 10 ms apart, so that tests do not wait long for them.
private func quickRestarts(_ attempts: Int) -> RestartPolicy {
    RestartPolicy(attempts: attempts, interval: .seconds(3600), delay: .milliseconds(10), mode: .fail)
}

/// Polls the runner's status every 10 ms until `condition` holds; throws after `timeout`.
@discardableResult
private func status(of runner: AllocationRunner, within timeout: Duration = .seconds(20),
                    where condition: (AllocationRunStatus) -> Bool) async throws -> AllocationRunStatus {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        let current = await runner.status
        if condition(current) { return current }
        guard clock.now < deadline else { throw TimedOut(last: current) }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// A dataset directory holding `rows.txt`.
private func makeDataset() throws -> String {
    let data = "/tmp/caravan-agent-tests/dataset-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
    try "census rows\n".write(toFile: data + "/rows.txt", atomically: true, encoding: .utf8)
    return data
}

/// Polls `condition` every 10 ms until it holds; throws after `timeout`.
private func until(within timeout: Duration = .seconds(20), _ condition: () -> Bool,
                   sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while !condition() {
        guard clock.now < deadline else {
            Issue.record("the condition did not hold within \(timeout)", sourceLocation: sourceLocation)
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

private func lines(_ path: String) -> [String] {
    let data = FileManager.default.contents(atPath: path) ?? Data()
    return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
}

@Suite("AllocationRunner: running an allocation's tasks on a client")
struct AllocationRunnerTests {
    @Test("a batch allocation of two tasks completes, with its outputs and inputs in place")
    func batchCompletes() async throws {
        let data = try makeDataset()
        // Tasks run in their task directory.
        let script = #"echo "done" > outputs/result; cat inputs/census/rows.txt >> outputs/result"#
        let input = DataInput(name: "census", source: .dataset("census"))
        let fixture = Fixture(tasks: [shell("first", script, inputs: [input]), shell("second", script, inputs: [input])])
        let runner = fixture.runner(datasets: ["census": data])
        await runner.start()

        let final = try await status(of: runner) { $0.clientStatus.isTerminal }
        #expect(final.clientStatus == .complete)
        #expect(final.description == "All tasks have completed")
        for name in ["first", "second"] {
            let state = try #require(final.tasks[name])
            #expect(state.state == .dead)
            #expect(!state.failed)
            #expect(state.restarts == 0)
            #expect(state.startedAt != nil && state.finishedAt != nil)
            #expect(lines(fixture.taskDirectory(name).outputs + "/result") == ["done", "census rows"])
        }
        let reported = fixture.reports.statuses.map(\.clientStatus)
        #expect(reported.first == .pending)
        #expect(reported.last == .complete)
        #expect(!reported.contains(.failed))
        // The last checkpoint tells a restarted client that nothing is left to run.
        let checkpoint = try #require(fixture.reports.checkpoints.last)
        #expect(checkpoint.tasks.values.allSatisfy { $0.state.state == .dead })
        await runner.destroy(removingDirectory: true)
        #expect(fixture.reports.checkpoints.last?.tasks.values.allSatisfy { $0.handle == nil } == true)
        #expect(!FileManager.default.fileExists(atPath: fixture.taskDirectory("first").root))
        try FileManager.default.removeItem(atPath: data)
    }

    @Test("a task's environment names its allocation, job, group, namespace and directory, over its own env")
    func taskEnvironment() async throws {
        let names = ["CARAVAN_ALLOC_ID", "CARAVAN_ALLOC_INDEX", "CARAVAN_ALLOC_NAME", "CARAVAN_JOB_ID", "CARAVAN_JOB_NAME",
                     "CARAVAN_GROUP_NAME", "CARAVAN_TASK_NAME", "CARAVAN_NAMESPACE", "CARAVAN_TASK_DIR", "GREETING"]
        var task = shell("main", names.map { "echo \"\($0)=$\($0)\" >> outputs/env" }.joined(separator: "; "))
        task.env = ["GREETING": "hello", "CARAVAN_JOB_ID": "overridden"]
        let fixture = Fixture(tasks: [task])
        let runner = fixture.runner()
        await runner.start()
        let final = try await status(of: runner) { $0.clientStatus.isTerminal }
        #expect(final.clientStatus == .complete)
        let directory = fixture.taskDirectory("main")
        let expected = [
            "CARAVAN_ALLOC_ID": fixture.allocation.id.rawValue,
            "CARAVAN_ALLOC_INDEX": "2",
            "CARAVAN_ALLOC_NAME": fixture.allocation.name,
            "CARAVAN_JOB_ID": fixture.job.spec.id,
            "CARAVAN_JOB_NAME": fixture.job.spec.name,
            "CARAVAN_GROUP_NAME": "work",
            "CARAVAN_TASK_NAME": "main",
            "CARAVAN_NAMESPACE": "default",
            "CARAVAN_TASK_DIR": directory.root,
            "GREETING": "hello",
        ]
        let environment = TaskEnvironment(allocation: fixture.allocation, job: fixture.job.spec, datasets: [:], cpuMHzPerCore: 1000)
        #expect(environment.variables(for: task, directory: directory) == expected)
        let written = lines(directory.outputs + "/env")
        #expect(written == names.map { "\($0)=\(expected[$0]!)" })
        await runner.destroy(removingDirectory: true)
    }

    @Test("a failing batch task restarts `attempts` times, then the allocation fails")
    func failingTaskRestartsThenFails() async throws {
        let fixture = Fixture(restart: quickRestarts(2), tasks: [shell("flaky", #"echo run >> local/runs; exit 3"#)])
        let runner = fixture.runner()
        await runner.start()

        let final = try await status(of: runner) { $0.clientStatus.isTerminal }
        #expect(final.clientStatus == .failed)
        let state = try #require(final.tasks["flaky"])
        #expect(state.state == .dead)
        #expect(state.failed)
        #expect(state.restarts == 2)
        #expect(state.exitCode == 3)
        #expect(state.lastRestart != nil)
        #expect(lines(fixture.taskDirectory("flaky").local + "/runs").count == 3)
        #expect(final.description.contains("task \"flaky\" failed: exited with 3"))
        #expect(final.description.contains("restart policy exhausted"))
        let kinds = try #require(final.events["flaky"]).map(\.kind)
        #expect(kinds.filter { $0 == .restarting }.count == 2)
        #expect(kinds.last == .notRestarting)
        await runner.destroy(removingDirectory: true)
    }

    @Test("a service task that exits, even with 0, is restarted")
    func serviceTaskIsRestarted() async throws {
        // Exits 0 on its first run; runs on from its second.
        let script = #"""
            echo run >> local/runs
            [ "$(wc -l < local/runs)" -ge 2 ] && exec sleep 1000
            exit 0
            """#
        let fixture = Fixture(type: .service, restart: quickRestarts(3), tasks: [shell("web", script)])
        let runner = fixture.runner()
        await runner.start()

        // Running again once restarted; the second run's first line follows its start.
        let runs = fixture.taskDirectory("web").local + "/runs"
        let running = try await status(of: runner) {
            $0.clientStatus == .running && $0.tasks["web"]?.restarts == 1 && lines(runs).count >= 2
        }
        #expect(running.tasks["web"]?.state == .running)
        #expect(lines(runs).count == 2)
        await runner.stop()
        let stopped = await runner.status
        #expect(stopped.clientStatus == .complete)
        #expect(stopped.tasks["web"]?.failed == false)
        await runner.destroy(removingDirectory: true)
    }

    @Test("stop ends the tasks of a running service allocation, which is then complete")
    func stopEndsRunningTasks() async throws {
        let fixture = Fixture(type: .service, tasks: [shell("a", "exec sleep 1000"), shell("b", "trap '' INT; while :; do sleep 0.05; done", killTimeout: .milliseconds(300))])
        let runner = fixture.runner()
        await runner.start()
        try await status(of: runner) { $0.clientStatus == .running }
        let pids = try await runner.checkpoint.tasks.values.map { try #require($0.handle?.state["pid"]?.intValue) }
        #expect(pids.count == 2)

        await runner.stop()
        let final = await runner.status
        #expect(final.clientStatus == .complete)
        #expect(final.description == "Tasks were stopped")
        for name in ["a", "b"] {
            #expect(final.tasks[name]?.state == .dead)
            #expect(final.tasks[name]?.failed == false)
            #expect(final.events[name]?.last?.kind == .killed)
        }
        for pid in pids { #expect(kill(Int32(pid), 0) != 0, "process \(pid) still runs") }
        #expect(fixture.reports.statuses.last?.clientStatus == .complete)
        #expect(fixture.reports.checkpoints.last?.stopped == true)
        await runner.destroy(removingDirectory: true)
    }

    @Test("when a task's restart policy gives up, the allocation fails and its other tasks are stopped")
    func failureStopsSiblings() async throws {
        let fixture = Fixture(restart: quickRestarts(0), tasks: [shell("broken", "exit 1"), shell("long", "exec sleep 1000")])
        let runner = fixture.runner()
        await runner.start()
        let final = try await status(of: runner) { $0.clientStatus == .failed && $0.tasks.values.allSatisfy { $0.state == .dead } }
        #expect(final.tasks["broken"]?.failed == true)
        #expect(final.tasks["long"]?.failed == false)
        #expect(final.events["long"]?.last?.message.contains("a sibling task failed") == true)
        #expect(final.description.hasPrefix("task \"broken\" failed: exited with 1"))
        await runner.destroy(removingDirectory: true)
    }

    @Test("a restored runner reattaches to the running task without starting it again, and sees it complete")
    func restoreReattaches() async throws {
        let script = #"""
            echo started >> local/starts
            while [ ! -f local/go ]; do sleep 0.02; done
            exit 0
            """#
        let fixture = Fixture(restart: quickRestarts(2), tasks: [shell("main", script)])
        let firstDriver = ExecDriver()
        let first = fixture.runner(driver: firstDriver)
        await first.start()
        try await status(of: first) { $0.clientStatus == .running }
        let saved = try #require(fixture.reports.checkpoints.last)
        #expect(saved == (await first.checkpoint))
        #expect(saved.tasks["main"]?.handle != nil)

        // The client process goes away: it lets go of its tasks and keeps only the checkpoint.
        await first.detach()
        await firstDriver.detach()
        let persisted = try JSONDecoder().decode(AllocationCheckpoint.self, from: JSONEncoder().encode(saved))

        let second = fixture.runner()
        await second.restore(persisted)
        try await status(of: second) { $0.clientStatus == .running && $0.events["main"]?.last?.kind == .reattached }
        let directory = fixture.taskDirectory("main")
        _ = FileManager.default.createFile(atPath: directory.local + "/go", contents: nil)

        let final = try await status(of: second) { $0.clientStatus.isTerminal }
        #expect(final.clientStatus == .complete)
        #expect(final.tasks["main"]?.restarts == 0)
        #expect(lines(directory.local + "/starts") == ["started"])
        #expect(fixture.reports.statuses.last?.clientStatus == .complete)
        await second.destroy(removingDirectory: true)
    }

    @Test("a run that cannot be reattached counts as a failure: the restart policy starts the task again")
    func unrecoverableRunRestarts() async throws {
        let script = #"""
            echo started >> local/starts
            while [ ! -f local/go ]; do sleep 0.02; done
            """#
        let fixture = Fixture(restart: quickRestarts(1), tasks: [shell("main", script)])
        let first = fixture.runner()
        await first.start()
        try await status(of: first) { $0.clientStatus == .running }
        var saved = await first.checkpoint
        try await until { lines(fixture.taskDirectory("main").local + "/starts").count == 1 }
        await first.stop()
        await first.destroy()
        // The handle no longer names a task its driver can find.
        saved.tasks["main"]?.handle?.state = ["bogus": true]
        _ = FileManager.default.createFile(atPath: fixture.taskDirectory("main").local + "/go", contents: nil)

        let second = fixture.runner()
        await second.restore(saved)
        let final = try await status(of: second) { $0.clientStatus.isTerminal }
        #expect(final.clientStatus == .complete)
        #expect(final.tasks["main"]?.restarts == 1)
        #expect(final.events["main"]?.contains { $0.kind == .driverFailure && $0.message.contains("cannot be reattached") } == true)
        #expect(lines(fixture.taskDirectory("main").local + "/starts").count == 2)
        await second.destroy(removingDirectory: true)
    }

    @Test("an unknown driver fails the allocation at once, saying which driver")
    func unknownDriverFails() async throws {
        // The default batch policy (3 restarts, 15 s apart) does not apply: a restart cannot help.
        let fixture = Fixture(tasks: [Model::TaskSpec(name: "main", driver: "teleport")])
        let runner = fixture.runner()
        await runner.start()
        let final = try await status(of: runner, within: .seconds(5)) { $0.clientStatus.isTerminal }
        #expect(final.clientStatus == .failed)
        #expect(final.description.contains("no task driver named \"teleport\""))
        #expect(final.tasks["main"]?.restarts == 0)
        #expect(final.tasks["main"]?.failed == true)
        await runner.destroy(removingDirectory: true)
    }

    @Test("an input dataset this node lacks fails the task with a message naming the dataset")
    func missingDatasetFails() async throws {
        let input = DataInput(name: "rows", source: .dataset("census-2020"), locality: .required)
        let fixture = Fixture(tasks: [shell("main", "exit 0", inputs: [input])])
        let runner = fixture.runner(datasets: ["weather": "/tmp"])
        await runner.start()
        let final = try await status(of: runner, within: .seconds(5)) { $0.clientStatus.isTerminal }
        #expect(final.clientStatus == .failed)
        #expect(final.description.contains("dataset \"census-2020\""))
        #expect(final.description.contains("weather"))
        #expect(final.tasks["main"]?.restarts == 0)
        await runner.destroy(removingDirectory: true)
    }

    @Test("the restart bookkeeping keeps only the failures the policy still counts")
    func failureHistoryIsTrimmed() {
        let policy = RestartPolicy(attempts: 2, interval: .seconds(10), delay: .seconds(1), mode: .fail)
        var task = TaskRunner(name: "t", policy: policy)
        let t0 = Timestamp(seconds: 1_000)
        let failure = TaskOutcome.exited(TaskResult(exitCode: 1))
        #expect(task.ended(failure, restartOnSuccess: false, at: t0) == .restart(after: .seconds(1)))
        #expect(task.ended(failure, restartOnSuccess: false, at: t0 + .seconds(2)) == .restart(after: .seconds(1)))
        #expect(task.failures.count == 2)
        // A new interval: the earlier failures no longer count.
        #expect(task.ended(failure, restartOnSuccess: false, at: t0 + .seconds(30)) == .restart(after: .seconds(1)))
        #expect(task.failures == [t0 + .seconds(30)])
        // Restored from its checkpoint, the task decides as before.
        var restored = TaskRunner(name: "t", policy: policy, checkpoint: task.checkpoint)
        #expect(restored.ended(failure, restartOnSuccess: false, at: t0 + .seconds(31)) == .restart(after: .seconds(1)))
        if case .failed = restored.ended(failure, restartOnSuccess: false, at: t0 + .seconds(32)) {} else {
            Issue.record("the third failure within the interval should fail the task")
        }
        #expect(restored.state.restarts == 4)
    }

    @Test("task resources map to driver limits: memory_max_mb over memory_mb, cores over MHz")
    func resourceLimits() {
        let mhz = TaskEnvironment.limits(for: Resources(cpu: 500, memoryMB: 256), cpuMHzPerCore: 2000)
        #expect(mhz == TaskResources(memoryBytes: 256 << 20, cpuCores: 0.25))
        let cores = TaskEnvironment.limits(for: Resources(cpu: 0, cores: 2, memoryMB: 128, memoryMaxMB: 512), cpuMHzPerCore: 2000)
        #expect(cores == TaskResources(memoryBytes: 512 << 20, cpuCores: 2))
    }

    @Test("${NAME} in task config reads the task's variables; ${NOMAD_X} reads CARAVAN_X; unknown names stay")
    func configInterpolation() {
        let env = ["CARAVAN_ALLOC_INDEX": "2", "CARAVAN_JOB_ID": "hello"]
        let config = JSONValue.object([
            "args": .array([.string("i=${NOMAD_ALLOC_INDEX} job=${CARAVAN_JOB_ID}"), .string("${MISSING} $HOME")]),
            "n": .number(1),
        ])
        #expect(TaskEnvironment.interpolate(config, env) == .object([
            "args": .array([.string("i=2 job=hello"), .string("${MISSING} $HOME")]),
            "n": .number(1),
        ]))
    }
}
