import Foundation
import Subprocess
import Synchronization
import SystemPackage
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs a task as a process on the host (Nomad's `exec`/`raw_exec`).
///
/// - The task runs in its own session and process group, under a small static
///   supervisor (``ExecSupervisor``; a `/bin/sh` script where there is none)
///   that records its exit status in the task directory and keeps its log pipes
///   open, so that the task survives an agent restart and ``recover(_:)`` can
///   reattach to it (by pid and start time).
/// - stdout and stderr go through named pipes to rotating files in `logs/`.
/// - Memory and CPU limits are enforced through cgroups (v2, or v1's memory and
///   cpu hierarchies) where the host lets the agent create them; the fingerprint
///   attributes `driver.exec.memory_limit` and `driver.exec.cpu_limit` say
///   `enforced` or `not enforced`. The CPU a task asks for is its share of the
///   CPU when tasks contend for it, and a cap only with `cpu_hard_limit`
///   (``ExecConfig``), as in Nomad.
/// - Stopping signals the whole process group (and every process in the task's
///   cgroups) with the kill signal, then `SIGKILL` after the kill timeout.
/// - A task's `user` needs the agent to run as root.
///
/// Inputs are symbolic links in `inputs/`: read-only only as far as the host's
/// file permissions make them (run the task as another `user` for that).
public final class ExecDriver: TaskDriver {
    /// `exec`.
    public let name = "exec"

    private let cgroups: CgroupSupport
    private let supervisor: ExecSupervisor
    private let tasks = Mutex<[String: ExecTask]>([:])

    /// An exec driver; probes the host's cgroups once and installs the task
    /// supervisor.
    ///
    /// - Parameter stateDirectory: a directory the agent keeps (its data
    ///   directory): the supervisor is installed there, replacing the one an
    ///   earlier agent left. nil: in a directory of the user's under the
    ///   temporary directory, shared by the user's processes.
    public init(stateDirectory: String? = nil) {
        self.cgroups = CgroupSupport.detect()
        self.supervisor = ExecSupervisor.install(in: stateDirectory)
    }

    /// An exec driver with the given supervisor (tests: the shell's).
    init(supervisor: ExecSupervisor) {
        self.cgroups = CgroupSupport.detect()
        self.supervisor = supervisor
    }

    public func fingerprint() async -> DriverFingerprint {
        var attributes = [
            "driver.exec.cgroups": cgroups.version.rawValue,
            "driver.exec.memory_limit": cgroups.enforcesMemory ? "enforced" : "not enforced",
            "driver.exec.cpu_limit": cgroups.enforcesCPU ? "enforced" : "not enforced",
        ]
        if let reason = cgroups.reason { attributes["driver.exec.cgroups.note"] = reason }
        attributes["driver.exec.supervisor"] = supervisor == .shell ? "sh" : "static"
        guard supervisor != .shell || FileManager.default.isExecutableFile(atPath: "/bin/sh") else {
            return DriverFingerprint(driver: name, health: .unavailable(reason: "/bin/sh is missing"), attributes: attributes)
        }
        return DriverFingerprint(driver: name, health: .healthy, version: "1", attributes: attributes)
    }

    public func start(_ task: TaskSpec, in directory: TaskDirectory) async throws(TaskDriverError) -> TaskHandle {
        let config = try ExecConfig(task.config)
        let env = TaskEnvironment.variables(for: task, directory: directory, guestPaths: false)
        let cwd = config.cwd.map { $0.hasPrefix("/") ? $0 : directory.root + "/" + $0 } ?? directory.root
        let executable = try Self.resolve(config.command, path: env["PATH"] ?? TaskEnvironment.defaultPath, relativeTo: directory.root)
        var options = PlatformOptions()
        options.createSession = true
        // The supervisor runs as the agent and drops to the task's user in the
        // task's process ("user UID GID"). Never Subprocess's uid options: its
        // fork child calls glibc's setgroups, which can hang forever in a child
        // of this multi-threaded process.
        let owner: (uid: uid_t, gid: gid_t)?
        if let user = task.user {
            guard let entry = getpwnam(user) else { throw .invalidConfig(driver: name, reason: "unknown user \"\(user)\"") }
            owner = (entry.pointee.pw_uid, entry.pointee.pw_gid)
        } else {
            owner = nil
        }

        // The supervisor's state (exit status, log pipes) goes in the task
        // directory's `.caravan/`: a task has one driver.
        let stateDirectory = directory.driverState
        let pumps: [FIFOPump]
        do {
            if mkdir(stateDirectory, 0o755) != 0 && errno != EEXIST {
                throw TaskDriverError.startFailed(taskID: task.id, reason: "cannot create \(stateDirectory): \(String(cString: strerror(errno)))")
            }
            unlink(stateDirectory + "/exit")
            unlink(stateDirectory + "/error")
            var made: [FIFOPump] = []
            for stream in ["stdout", "stderr"] {
                let fifo = stateDirectory + "/\(stream).fifo"
                if mkfifo(fifo, 0o600) != 0 && errno != EEXIST {
                    throw TaskDriverError.startFailed(taskID: task.id, reason: "cannot create \(fifo): \(String(cString: strerror(errno)))")
                }
                let rotator = LogRotator(directory: directory.logs, name: "\(task.name).\(stream)", policy: task.logs)
                made.append(try FIFOPump(path: fifo, rotator: rotator))
            }
            pumps = made
            if let owner {
                for path in [directory.root, directory.local, directory.outputs] { chown(path, owner.uid, owner.gid) }
            }
        } catch let error as TaskDriverError {
            throw error
        } catch {
            throw .startFailed(taskID: task.id, reason: "cannot prepare \(stateDirectory): \(error)")
        }

        var cgroup: TaskCgroup?
        if cgroups.version != .none {
            do {
                cgroup = try cgroups.create(taskID: task.id, resources: task.resources, hardCPULimit: config.cpuHardLimit)
            } catch {
                for pump in pumps { pump.finish() }
                throw .engineFailed(taskID: task.id, operation: "creating cgroups", reason: "\(error)")
            }
        }

        // Start the supervisor; it waits for "go" until it is in the task's
        // cgroups (on v1 it joins them itself, told by "join" lines).
        let started = ResultLatch<Result<Int32, TaskDriverError>>()
        let exited = ResultLatch<(code: Int32, signal: Int32?)?>()
        let (supervisorPath, arguments) = supervisor.invocation(stateDirectory: stateDirectory, command: executable, arguments: config.args)
        // Raw entries go to strdup(3) as they are: each must carry its NUL.
        let environment = Environment.custom(env.map { Array("\($0.key)=\($0.value)\0".utf8) })
        let taskID = task.id
        Task.detached { [cgroup] in
            do {
                let outcome = try await Self.retryingWhileUnstarted {
                    try await run(
                        .path(FilePath(supervisorPath)),
                        arguments: Arguments(arguments),
                        environment: environment,
                        workingDirectory: FilePath(cwd),
                        platformOptions: options,
                        input: .inputWriter,
                        output: .discarded,
                        error: .discarded
                    ) { execution in
                        let pid = execution.processIdentifier.value
                        var failure: TaskDriverError?
                        var joins: [String] = []
                        do {
                            joins = try cgroup?.admit(supervisor: pid) ?? []
                        } catch {
                            failure = .engineFailed(taskID: taskID, operation: "joining the task's cgroups", reason: "\(error)")
                        }
                        let user = owner.map { "user \($0.uid) \($0.gid)\n" } ?? ""
                        let word = failure == nil ? joins.map { "join \($0)\n" }.joined() + user + "go\n" : "no\n"
                        let written = (try? await execution.standardInputWriter.write(word)) ?? 0
                        try? await execution.standardInputWriter.finish()
                        if failure == nil && written < word.utf8.count { throw GoNotDelivered() }
                        started.resolve(failure.map { .failure($0) } ?? .success(pid))
                    }
                }
                switch outcome.terminationStatus {
                case .exited(let code): exited.resolve((code, nil))
                case .signaled(let signal): exited.resolve((128 + signal, signal))
                }
            } catch {
                started.resolve(.failure(.startFailed(taskID: taskID, reason: "\(error)")))
                exited.resolve(nil)
            }
        }

        let pid: Int32
        switch await started.value() {
        case .success(let value): pid = value
        case .failure(let error):
            _ = await exited.value()
            for pump in pumps { pump.finish() }
            cgroup?.remove()
            throw error
        }
        let startTicks = ProcStat.read(pid)?.startTicks ?? 0
        let state = ExecHandleState(pid: pid, startTicks: startTicks, stateDirectory: stateDirectory, cgroup: cgroup)
        let handle = TaskHandle(driver: name, spec: task, directory: directory, startedAt: Date(), state: state.jsonValue)
        let running = ExecTask(handle: handle, state: state, pumps: pumps)
        tasks.withLock { $0[task.id] = running }
        Task.detached {
            let status = await exited.value()
            running.finalize(supervisorStatus: status ?? (code: 128 + SIGKILL, signal: SIGKILL))
        }
        running.enforceDeadline { [weak self] in try? await self?.stop(handle) }
        return handle
    }

    /// Runs `spawn` again, a few times, while it fails in a way that left the
    /// task unstarted:
    /// - ETXTBSY: a file open for writing when any thread of the process forks
    ///   stays open in the child until that child execs, so exec of the
    ///   supervisor just installed can meet it for a moment;
    /// - ``GoNotDelivered``: the supervisor never got its "go", so it ran
    ///   nothing and ends when its standard input closes.
    private static func retryingWhileUnstarted<R>(_ spawn: () async throws -> R) async throws -> R {
        var attempts = 0
        while true {
            do {
                return try await spawn()
            } catch let error as SubprocessError where error.underlyingError == .textFileBusy && attempts < 5 {
                attempts += 1
                try? await Task.sleep(for: .milliseconds(attempts))
            } catch is GoNotDelivered where attempts < 5 {
                attempts += 1
            }
        }
    }

    public func wait(_ handle: TaskHandle) async throws(TaskDriverError) -> TaskResult {
        try await task(for: handle).result.value()
    }

    public func signal(_ handle: TaskHandle, _ signal: TaskSignal) async throws(TaskDriverError) {
        try task(for: handle).send(signal)
    }

    public func stop(_ handle: TaskHandle) async throws(TaskDriverError) {
        let running = try task(for: handle)
        guard running.result.current == nil else { return }
        running.send(handle.killSignal)
        if await running.result.value(timeout: handle.killTimeout) == nil {
            running.send(.kill, includingCgroup: true)
        }
        _ = await running.result.value()
    }

    public func stats(_ handle: TaskHandle) async throws(TaskDriverError) -> TaskStats {
        let running = try task(for: handle)
        let members = ProcStat.members(ofSession: running.state.pid)
        let resident = members.reduce(0) { $0 + $1.residentPages } * ProcStat.pageSize
        if let cgroup = running.state.cgroup, let memory = cgroup.memory, let cpu = cgroup.cpuTime {
            // v1 charges a page to the cgroup of the process that first touched it:
            // what the supervisor touched before it joined is not in the cgroup's
            // figure, and the cgroup's figure holds page cache the processes' RSS
            // does not. Each undercounts; the larger is nearer the truth.
            return TaskStats(cpuTime: cpu, memoryBytes: max(memory.current, resident), peakMemoryBytes: memory.peak)
        }
        let ticks = members.reduce(0) { $0 + $1.cpuTicks }
        return TaskStats(cpuTime: .milliseconds(Int64(ticks) * 1000 / Int64(ProcStat.ticksPerSecond)), memoryBytes: resident)
    }

    public func recover(_ handle: TaskHandle) async throws(TaskDriverError) {
        try checkOwnership(of: handle)
        if tasks.withLock({ $0[handle.taskID] }) != nil { return }
        let state: ExecHandleState
        do {
            state = try handle.state.decode(as: ExecHandleState.self)
        } catch {
            throw .notRecoverable(taskID: handle.taskID, reason: "the handle's state is not an exec driver's: \(error)")
        }
        var pumps: [FIFOPump] = []
        let probe = ExecTask(handle: handle, state: state, pumps: [])
        if probe.isRunning {
            do {
                for stream in ["stdout", "stderr"] {
                    let rotator = LogRotator(directory: handle.directory.logs, name: "\(handle.taskName).\(stream)", policy: handle.logs)
                    pumps.append(try FIFOPump(path: state.stateDirectory + "/\(stream).fifo", rotator: rotator))
                }
            } catch {
                for pump in pumps { pump.finish() }
                throw .notRecoverable(taskID: handle.taskID, reason: "cannot reopen its log pipes: \(error)")
            }
        }
        let running = ExecTask(handle: handle, state: state, pumps: pumps)
        tasks.withLock { $0[handle.taskID] = running }
        if probe.isRunning {
            running.watchByPolling()
            running.enforceDeadline { [weak self] in try? await self?.stop(handle) }
        } else {
            for stream in ["stdout", "stderr"] {
                LogRotator(directory: handle.directory.logs, name: "\(handle.taskName).\(stream)", policy: handle.logs).close()
            }
            running.finalize(supervisorStatus: nil)
        }
    }

    public func destroy(_ handle: TaskHandle) async throws(TaskDriverError) {
        let running = try task(for: handle)
        if running.result.current == nil {
            running.send(.kill, includingCgroup: true)
            _ = await running.result.value()
        }
        await running.state.cgroup?.killAndRemove()
        tasks.withLock { _ = $0.removeValue(forKey: handle.taskID) }
    }

    /// Lets go of every task without stopping it, for an agent that shuts down
    /// and will ``recover(_:)`` its tasks when it comes back: log collection stops
    /// between two reads, so nothing read is lost (unread output waits in the
    /// task's pipe). The driver forgets the tasks.
    public func detach() async {
        let all = tasks.withLock { tasks -> [ExecTask] in
            defer { tasks = [:] }
            return Array(tasks.values)
        }
        for running in all where running.result.current == nil { running.detach() }
    }

    private func task(for handle: TaskHandle) throws(TaskDriverError) -> ExecTask {
        try checkOwnership(of: handle)
        guard let running = tasks.withLock({ $0[handle.taskID] }) else { throw .unknownTask(handle.taskID) }
        return running
    }

    /// Finds the program to run: a path (absolute or relative to the task
    /// directory) or a name in `path`.
    static func resolve(_ command: String, path: String, relativeTo root: String) throws(TaskDriverError) -> String {
        let fm = FileManager.default
        func check(_ candidate: String) -> String? {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue else { return nil }
            return fm.isExecutableFile(atPath: candidate) ? candidate : nil
        }
        if command.contains("/") {
            let candidate = command.hasPrefix("/") ? command : root + "/" + command
            guard fm.fileExists(atPath: candidate) else { throw .executableNotFound(command, reason: "\(candidate) does not exist") }
            guard let found = check(candidate) else { throw .executableNotFound(command, reason: "\(candidate) is not an executable file") }
            return found
        }
        for directory in path.split(separator: ":") {
            if let found = check("\(directory)/\(command)") { return found }
        }
        throw .executableNotFound(command, reason: "not found in PATH (\(path))")
    }
}

/// The supervisor's "go" was not written: swift-subprocess had taken the new
/// process for ended, and it then drops writes to it. Seen once in CI under
/// parallel tests: a restarted task "exited with 125" without an exit file,
/// which is the supervisor reading end-of-file where "go" should be. (Our
/// reading of its Linux monitor: waiters are keyed by pidfd number, so a new
/// process can be woken by an exit under the same, reused number.) The
/// supervisor ran nothing and ends as its standard input closes, so the
/// start is tried again instead of reporting a run that never happened.
struct GoNotDelivered: Error, CustomStringConvertible {
    var description: String { "the task's supervisor could not be told to start" }
}
