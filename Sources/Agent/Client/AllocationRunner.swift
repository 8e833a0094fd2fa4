import Foundation
import Executor
import Model

/// What an ``AllocationRunner`` reports: the allocation's client status and
/// each task's state and recent events.
public struct AllocationRunStatus: Sendable, Hashable, Codable {
    /// Something that happened to a task, as Nomad's task events.
    public struct TaskEvent: Sendable, Hashable, Codable {
        public enum Kind: String, Sendable, Hashable, Codable {
            case started
            /// Reattached to a run started before a client restart.
            case reattached
            /// The run ended by itself; the message says how.
            case terminated
            /// The run could not be set up, started or reattached.
            case driverFailure = "driver_failure"
            case restarting
            /// The restart policy gave up, or the error cannot be fixed by a restart.
            case notRestarting = "not_restarting"
            /// A stop was sent.
            case killing
            /// Stopped by the client (allocation stopped, or a sibling failed).
            case killed
        }

        public var time: Timestamp
        public var kind: Kind
        public var message: String

        public init(time: Timestamp, kind: Kind, message: String) {
            self.time = time
            self.kind = kind
            self.message = message
        }
    }

    public var clientStatus: ClientStatus
    /// Why the status is what it is; for a failed allocation, which task failed and how.
    public var description: String
    /// By task name.
    public var tasks: [String: TaskState]
    /// The newest events of each task, oldest first, by task name.
    public var events: [String: [TaskEvent]]

    public init(clientStatus: ClientStatus, description: String, tasks: [String: TaskState],
                events: [String: [TaskEvent]] = [:]) {
        self.clientStatus = clientStatus
        self.description = description
        self.tasks = tasks
        self.events = events
    }
}

/// What a client persists of an allocation runner so that a new runner can
/// take over after the client process restarts (``AllocationRunner/restore(_:)``):
/// each task's state, the driver handle of its run, and its restart bookkeeping.
public struct AllocationCheckpoint: Codable, Sendable, Hashable {
    /// One task's part.
    public struct TaskCheckpoint: Codable, Sendable, Hashable {
        public var state: TaskState
        /// The handle of the task's current run (when `state` is running), or of
        /// its last run until the runner destroys it.
        public var handle: TaskHandle?
        /// The failures the restart policy has counted and still counts.
        public var failures: [Timestamp]
        /// When a pending restart is due.
        public var restartAt: Timestamp?
        public var events: [AllocationRunStatus.TaskEvent]

        public init(state: TaskState, handle: TaskHandle?, failures: [Timestamp], restartAt: Timestamp?,
                    events: [AllocationRunStatus.TaskEvent]) {
            self.state = state
            self.handle = handle
            self.failures = failures
            self.restartAt = restartAt
            self.events = events
        }
    }

    public var allocationID: AllocationID
    /// By task name.
    public var tasks: [String: TaskCheckpoint]
    /// Why the allocation failed, once it has.
    public var failure: String?
    /// Whether the allocation was asked to stop.
    public var stopped: Bool

    public init(allocationID: AllocationID, tasks: [String: TaskCheckpoint], failure: String? = nil, stopped: Bool = false) {
        self.allocationID = allocationID
        self.tasks = tasks
        self.failure = failure
        self.stopped = stopped
    }
}

/// Runs one allocation's task group on this node, as Nomad's client does.
///
/// - The group's tasks run concurrently, each with its driver, in its own
///   ``TaskDirectory`` at `<allocationsDirectory>/<allocation id>/<task>`.
/// - A task that fails (non-zero exit, signal, out of memory, timeout, a start
///   error a retry can fix, a run lost by its driver) restarts under the group's
///   ``RestartPolicy``, `delay` apart. Service and system tasks restart after
///   any exit, also exit 0. Batch and sysbatch tasks that exit 0 are done.
/// - Errors a restart cannot fix — an unknown driver, an invalid driver
///   configuration, a missing executable or dataset — fail the task at once.
/// - When a task's policy gives up, the allocation fails and its other tasks
///   are stopped.
/// - Status: pending → running (once every task runs) → complete (all tasks
///   done, or stopped) or failed, reported through `onStatus` on each change.
/// - Every change of what ``checkpoint`` holds — a handle created, a task
///   ended or restarting — goes to `onCheckpoint`, for the client to persist.
///   After a client restart a new runner ``restore(_:)``s from the last one and
///   reattaches to the runs it names, never starting them a second time.
public actor AllocationRunner {
    /// The allocation this runner runs.
    public nonisolated let allocation: Allocation
    /// Where the allocation's task directories are.
    public nonisolated let directory: String

    private let job: Job
    private let group: GroupSpec?
    private let drivers: DriverRegistry
    private let environment: TaskEnvironment
    private let onStatus: @Sendable (AllocationRunStatus) -> Void
    private let onCheckpoint: @Sendable (AllocationCheckpoint) -> Void

    private enum Phase {
        /// Neither started nor restored.
        case idle
        case running
        /// Stopping every task: asked to stop, or a task failed the allocation.
        case killing
        /// Let go of, for a client that shuts down: tasks keep running, nothing is reported.
        case detached
        case destroyed
    }

    private var phase = Phase.idle
    private var runs: [String: TaskRunner] = [:]
    /// Why the allocation failed, once it has.
    private var failure: String?
    private var stopRequested = false
    private var supervisors: [String: Task<Void, Never>] = [:]
    private var restartWaits: [String: Task<Void, any Error>] = [:]
    private var reportedStatus: AllocationRunStatus?
    private var reportedCheckpoint: AllocationCheckpoint?

    /// A runner for `allocation` of `job`; nothing runs before ``start()`` or ``restore(_:)``.
    ///
    /// - Parameters:
    ///   - drivers: the task drivers of this node.
    ///   - allocationsDirectory: the client's directory of allocation directories.
    ///   - datasets: dataset name to its host path on this node, for task inputs.
    ///   - cpuMHzPerCore: this node's CPU speed, to turn a task's `cpu` MHz into a
    ///     limit in cores (tasks that ask for `cores` get those).
    ///   - onStatus: called on every status change, on the runner's executor: keep it short.
    ///   - onCheckpoint: called on every checkpoint change, for the client to persist.
    public init(allocation: Allocation, job: Job, drivers: DriverRegistry, allocationsDirectory: String,
                datasets: [String: String] = [:], cpuMHzPerCore: Double = 1000,
                onStatus: @escaping @Sendable (AllocationRunStatus) -> Void,
                onCheckpoint: @escaping @Sendable (AllocationCheckpoint) -> Void) {
        self.allocation = allocation
        self.job = job
        self.group = job.spec.group(named: allocation.group)
        self.drivers = drivers
        self.directory = allocationsDirectory + "/" + Self.pathComponent(allocation.id.rawValue)
        self.environment = TaskEnvironment(allocation: allocation, job: job.spec, datasets: datasets, cpuMHzPerCore: cpuMHzPerCore)
        self.onStatus = onStatus
        self.onCheckpoint = onCheckpoint
        if let group {
            for task in group.tasks { runs[task.name] = TaskRunner(name: task.name, policy: group.restart) }
        } else {
            failure = "job \"\(job.spec.id)\" version \(job.version) has no group \"\(allocation.group)\""
        }
    }

    // MARK: - Lifecycle

    /// Starts the group's tasks. Does nothing when already started or restored.
    public func start() {
        guard phase == .idle else { return }
        guard failure == nil, let group else {
            phase = .killing
            publish()
            return
        }
        phase = .running
        publish()
        for task in group.tasks { supervise(task.name, reattaching: nil) }
    }

    /// Takes over from the runner that left `checkpoint`, after a client
    /// restart: reattaches (``TaskDriver/recover(_:)``) to each task run that
    /// was running and waits on it — never starting it a second time — starts
    /// the tasks that were pending, and leaves finished ones finished. A run
    /// that cannot be reattached counts as a failure of its task (the restart
    /// policy applies). A checkpoint of another allocation fails this one.
    /// Does nothing when already started or restored.
    public func restore(_ checkpoint: AllocationCheckpoint) {
        guard phase == .idle else { return }
        guard checkpoint.allocationID == allocation.id else {
            failure = failure ?? "the checkpoint is of allocation \(checkpoint.allocationID), not \(allocation.id)"
            phase = .killing
            publish()
            return
        }
        guard failure == nil, let group else {
            phase = .killing
            publish()
            return
        }
        for task in group.tasks {
            if let saved = checkpoint.tasks[task.name] {
                runs[task.name] = TaskRunner(name: task.name, policy: group.restart, checkpoint: saved)
            }
        }
        failure = checkpoint.failure
        stopRequested = checkpoint.stopped
        phase = failure == nil && !stopRequested ? .running : .killing
        let now = Self.now()
        for task in group.tasks {
            guard let run = runs[task.name], !run.isDead else { continue }
            if run.state.state == .running, let handle = run.handle {
                // Reattached also while killing: then stopped, so it does not run on unwatched.
                supervise(task.name, reattaching: handle)
            } else if phase == .running {
                supervise(task.name, reattaching: nil)
            } else {
                runs[task.name]?.killed(nil, reason: killReason, at: now)
            }
        }
        publish()
    }

    /// Stops every task (the allocation's desired status is stop or evict):
    /// each driver's stop sends the kill signal and kills after the task's kill
    /// timeout. Returns once all tasks have ended. A stopped allocation is
    /// complete, unless a task had failed it before.
    public func stop() async {
        switch phase {
        case .idle:
            stopRequested = true
            phase = .killing
            let now = Self.now()
            for name in runs.keys { runs[name]?.killed(nil, reason: killReason, at: now) }
            publish()
        case .running:
            if !status.clientStatus.isTerminal { stopRequested = true }
            await killTasks()
        case .killing:
            break
        case .detached, .destroyed:
            return
        }
        for supervisor in supervisors.values { await supervisor.value }
        publish()
    }

    /// Stops the tasks if they still run, then releases what the drivers hold
    /// for them (``TaskDriver/destroy(_:)``: cgroups, containers). The task
    /// directories stay unless `removingDirectory`.
    public func destroy(removingDirectory: Bool = false) async {
        switch phase {
        case .idle, .running, .killing: await stop()
        case .detached: break
        case .destroyed: return
        }
        phase = .destroyed
        for wait in restartWaits.values { wait.cancel() }
        for name in runs.keys.sorted() {
            guard let handle = runs[name]?.handle else { continue }
            await release(handle)
            runs[name]?.releasedHandle()
        }
        let last = checkpoint
        if last != reportedCheckpoint {
            reportedCheckpoint = last
            onCheckpoint(last)
        }
        if removingDirectory { DirectoryTree.remove(atPath: directory) }
    }

    /// Lets go of the allocation without stopping its tasks, for a client that
    /// shuts down and will ``restore(_:)`` a new runner from the last checkpoint:
    /// from now on this runner neither starts, restarts nor reports anything.
    public func detach() {
        switch phase {
        case .idle, .running, .killing:
            phase = .detached
            for wait in restartWaits.values { wait.cancel() }
        case .detached, .destroyed:
            break
        }
    }

    // MARK: - State

    /// The allocation's status now.
    public var status: AllocationRunStatus {
        let states = runs.mapValues(\.state)
        let events = runs.mapValues(\.events)
        let clientStatus: ClientStatus
        let description: String
        if let failure {
            (clientStatus, description) = (.failed, failure)
        } else if states.values.contains(where: \.failed) {
            (clientStatus, description) = (.failed, "Failed tasks")
        } else if states.values.contains(where: { $0.state == .pending }) {
            (clientStatus, description) = (.pending, "Tasks are pending")
        } else if states.values.contains(where: { $0.state == .running }) {
            (clientStatus, description) = (.running, "Tasks are running")
        } else {
            (clientStatus, description) = (.complete, stopRequested ? "Tasks were stopped" : "All tasks have completed")
        }
        return AllocationRunStatus(clientStatus: clientStatus, description: description, tasks: states, events: events)
    }

    /// What a new runner needs to take over after a client restart.
    public var checkpoint: AllocationCheckpoint {
        AllocationCheckpoint(allocationID: allocation.id, tasks: runs.mapValues(\.checkpoint), failure: failure,
                             stopped: stopRequested)
    }

    // MARK: - Running a task

    private var restartsOnSuccess: Bool {
        job.spec.type == .service || job.spec.type == .system
    }

    private var killReason: String {
        failure == nil ? "the allocation was stopped" : "a sibling task failed"
    }

    private func supervise(_ name: String, reattaching handle: TaskHandle?) {
        supervisors[name] = Task { await self.superviseTask(name, reattaching: handle) }
    }

    /// Runs `name` until it is done for good: start (or reattach), wait, and
    /// apply the restart policy to how it ended.
    private func superviseTask(_ name: String, reattaching: TaskHandle?) async {
        var reattach = reattaching
        while let outcome = await runOnce(name, reattaching: reattach) {
            reattach = nil
            switch phase {
            case .idle, .detached, .destroyed:
                return
            case .killing:
                runs[name]?.killed(outcome, reason: killReason, at: Self.now())
                publish()
                return
            case .running:
                break
            }
            guard let next = runs[name]?.ended(outcome, restartOnSuccess: restartsOnSuccess, at: Self.now()) else { return }
            switch next {
            case .finished:
                publish()
                return
            case .restart:
                if let old = runs[name]?.handle {
                    await release(old)
                    runs[name]?.releasedHandle()
                }
                publish()
            case .failed(let reason):
                if failure == nil { failure = "task \"\(name)\" failed: \(reason)" }
                publish()
                await killTasks()
                return
            }
        }
        // The allocation stopped before the task could (re)start.
        if phase == .killing {
            runs[name]?.killed(nil, reason: killReason, at: Self.now())
            publish()
        }
    }

    /// One run of the task: reattaches to `reattaching`, or waits out a pending
    /// restart delay and starts the task; then waits for it to end. Nil when the
    /// allocation stopped before a start.
    private func runOnce(_ name: String, reattaching: TaskHandle?) async -> TaskOutcome? {
        guard let spec = group?.tasks.first(where: { $0.name == name }) else { return nil }
        let driver: any TaskDriver
        let handle: TaskHandle
        if let reattaching {
            do {
                driver = try drivers.driver(named: reattaching.driver)
                try await driver.recover(reattaching)
            } catch {
                return .lost("cannot be reattached after a client restart: \(error)")
            }
            handle = reattaching
            runs[name]?.reattached(handle, at: Self.now())
        } else {
            guard phase == .running else { return nil }
            if let due = runs[name]?.restartAt {
                let wait = due - Self.now()
                if wait > .zero { await sleepBeforeRestart(name, wait) }
                guard phase == .running else { return nil }
            }
            if let leftover = runs[name]?.handle {
                await release(leftover)
                runs[name]?.releasedHandle()
            }
            do {
                driver = try drivers.driver(named: spec.driver)
                let inputs = try environment.inputPaths(for: spec)
                let taskDirectory = try TaskDirectory.create(at: directory + "/" + Self.pathComponent(name), inputs: inputs)
                let restarts = runs[name]?.state.restarts ?? 0
                let runID = "\(allocation.id.rawValue)-\(name)-\(restarts)"
                let driverSpec = try environment.driverSpec(for: spec, runID: runID, directory: taskDirectory)
                handle = try await driver.start(driverSpec, in: taskDirectory)
            } catch {
                return .notStarted("\(error)", retryable: Self.isRetryable(error))
            }
            runs[name]?.started(handle, at: Self.now())
        }
        publish()
        if phase == .killing {
            // A stop came while the task was starting.
            runs[name]?.killing(reason: killReason, at: Self.now())
            try? await driver.stop(handle)
        }
        do {
            return .exited(try await driver.wait(handle))
        } catch {
            return .lost("the \(driver.name) driver lost the task: \(error)")
        }
    }

    /// Stops every running task; tasks waiting to restart stay stopped.
    private func killTasks() async {
        guard phase == .running else { return }
        phase = .killing
        for wait in restartWaits.values { wait.cancel() }
        let now = Self.now()
        var targets: [(any TaskDriver, TaskHandle)] = []
        for name in runs.keys.sorted() {
            guard let run = runs[name], run.state.state == .running, let handle = run.handle,
                let driver = try? drivers.driver(named: handle.driver)
            else { continue }
            runs[name]?.killing(reason: killReason, at: now)
            targets.append((driver, handle))
        }
        publish()
        await withTaskGroup(of: Void.self) { group in
            for (driver, handle) in targets {
                group.addTask { try? await driver.stop(handle) }
            }
        }
    }

    /// Waits `delay` before a restart; a stop or a detach cuts it short.
    private func sleepBeforeRestart(_ name: String, _ delay: Duration) async {
        let wait = Task<Void, any Error> { try await Task.sleep(for: delay) }
        restartWaits[name] = wait
        _ = await wait.result
        restartWaits[name] = nil
    }

    /// Releases a run's driver resources, reattaching first when this driver
    /// instance never knew the run (it came from a checkpoint).
    private func release(_ handle: TaskHandle) async {
        guard let driver = try? drivers.driver(named: handle.driver) else { return }
        do {
            try await driver.destroy(handle)
        } catch .unknownTask {
            try? await driver.recover(handle)
            try? await driver.destroy(handle)
        } catch {}
    }

    /// Reports the status and the checkpoint where they changed.
    private func publish() {
        guard phase != .detached, phase != .destroyed else { return }
        let current = checkpoint
        if current != reportedCheckpoint {
            reportedCheckpoint = current
            onCheckpoint(current)
        }
        let now = status
        if now != reportedStatus {
            reportedStatus = now
            onStatus(now)
        }
    }

    // MARK: - Helpers

    /// Whether starting the task again could get past `error`.
    static func isRetryable(_ error: any Error) -> Bool {
        if error is TaskSetupError { return false }
        guard let error = error as? TaskDriverError else { return true }
        switch error {
        case .invalidConfig, .executableNotFound, .invalidModule, .unknownDriver, .wrongDriver, .taskDirectoryFailed:
            return false
        case .imageNotFound, .engineUnavailable, .startFailed, .unknownTask, .notRecoverable, .engineFailed, .duplicateDriver:
            return true
        }
    }

    /// `name` made safe as one path component.
    static func pathComponent(_ name: String) -> String {
        let safe = String(name.map { $0 == "/" || $0 == "\0" ? "_" : $0 })
        return safe == "." || safe == ".." || safe.isEmpty ? "_" + safe : safe
    }

    static func now() -> Timestamp {
        timestamp(Date())
    }

    static func timestamp(_ date: Date) -> Timestamp {
        Timestamp(sinceEpoch: .nanoseconds(Int64(date.timeIntervalSince1970 * 1_000_000_000)))
    }
}
