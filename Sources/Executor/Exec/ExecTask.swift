import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What the exec driver persists in a ``TaskHandle``'s state.
struct ExecHandleState: Sendable, Hashable, Codable {
    /// The supervisor's pid, which is also the task's process group and session id.
    var pid: Int32
    /// The supervisor's start time (`/proc/<pid>/stat`), guarding against pid reuse.
    var startTicks: UInt64
    /// Where the supervisor records the task's exit status and its log pipes are.
    var stateDirectory: String
    /// The task's cgroups, if the host has them.
    var cgroup: TaskCgroup?

    /// What `JSONValue(encoding:)` makes of this, built directly: through
    /// JSON text and back it was 4% of a busy client's CPU, paid at every start.
    var jsonValue: JSONValue {
        var members: [String: JSONValue] = [
            "pid": .number(Double(pid)), "startTicks": .number(Double(startTicks)), "stateDirectory": .string(stateDirectory),
        ]
        if let cgroup {
            members["cgroup"] = .object([
                "version": .string(cgroup.version.rawValue),
                "directories": .object(cgroup.directories.mapValues { .string($0) }),
            ])
        }
        return .object(members)
    }
}

/// One task the exec driver is running (or has recovered).
final class ExecTask: Sendable {
    let handle: TaskHandle
    let state: ExecHandleState
    let result = ResultLatch<TaskResult>()
    private let pumps: [FIFOPump]
    private let flags = Mutex<(timedOut: Bool, finalized: Bool)>((false, false))

    init(handle: TaskHandle, state: ExecHandleState, pumps: [FIFOPump]) {
        self.handle = handle
        self.state = state
        self.pumps = pumps
    }

    var exitFile: String { state.stateDirectory + "/exit" }

    /// Whether the supervisor process still runs (same pid and start time, not a zombie).
    var isRunning: Bool {
        guard let stat = ProcStat.read(state.pid) else { return false }
        return stat.startTicks == state.startTicks && stat.isAlive
    }

    func markTimedOut() { flags.withLock { $0.timedOut = true } }

    /// Stops collecting the task's logs, leaving the task running.
    func detach() {
        for pump in pumps { pump.detach() }
    }

    /// Sends `signal` to the task's process group; with `includingCgroup`, also to
    /// every process in its cgroups (processes that left the group included).
    func send(_ signal: TaskSignal, includingCgroup: Bool = false) {
        guard result.current == nil else { return }
        kill(-state.pid, signal.rawValue)
        if includingCgroup, let cgroup = state.cgroup {
            for pid in cgroup.pids { kill(pid, signal.rawValue) }
        }
    }

    /// Records how the task ended. `status` is the supervisor's termination as its
    /// parent saw it (`nil` after a recovery, where only the exit file tells).
    func finalize(supervisorStatus status: (code: Int32, signal: Int32?)?) {
        let first = flags.withLock { flags -> Bool in
            defer { flags.finalized = true }
            return !flags.finalized
        }
        guard first else { return }
        let timedOut = flags.withLock { $0.timedOut }
        let recorded = KernelFile.text(at: exitFile).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        // A task that exited 0 was not killed for memory; the others pay for
        // reading the cgroup's OOM count.
        let exitedZero = recorded.map { $0 == 0 } ?? (status?.code == 0 && status?.signal == nil)
        let oom = exitedZero ? false : (state.cgroup?.oomKilled ?? false)
        var result: TaskResult
        if let code = recorded {
            result = TaskResult(shellStatus: code, oomKilled: oom, timedOut: timedOut)
            if code == 125 {
                result.message = supervisorFailure
                    ?? (status?.code == 125 ? "the task's supervisor did not get the signal to start" : nil)
            }
        } else if let status, let failure = supervisorFailure {
            result = TaskResult(shellStatus: status.code, oomKilled: false, timedOut: timedOut)
            result.message = failure
        } else if let status {
            if let signal = status.signal {
                result = TaskResult(exitCode: 128 + signal, signal: TaskSignal(rawValue: signal), oomKilled: oom, timedOut: timedOut)
            } else {
                result = TaskResult(shellStatus: status.code, oomKilled: oom, timedOut: timedOut)
            }
        } else {
            result = TaskResult(
                exitCode: 128 + SIGKILL, signal: .kill, oomKilled: oom, timedOut: timedOut,
                message: "the task ended while no agent watched it and left no exit status; it was killed"
            )
        }
        // Whatever the task left behind in its process group or cgroups goes
        // with it. Removing the empty cgroups at once spares reading their pid
        // lists; ones still holding a process stay for `destroy` to retry.
        kill(-state.pid, SIGKILL)
        if let cgroup = state.cgroup, !cgroup.remove() {
            for pid in cgroup.pids { kill(pid, SIGKILL) }
        }
        for pump in pumps { pump.finish() }
        self.result.resolve(result)
    }

    /// Why the supervisor ran nothing, from what it left in `error`
    /// (the errno is 0 when unknown):
    /// - `join ERRNO PATH`: it could not join one of the task's cgroups;
    /// - `user ERRNO UID GID`: the task's process could not take its user.
    var supervisorFailure: String? {
        guard let text = KernelFile.text(at: state.stateDirectory + "/error") else { return nil }
        let fields = text.trimmingCharacters(in: .newlines).split(separator: " ", maxSplits: 2)
        guard fields.count == 3, let code = Int32(fields[1]) else { return nil }
        let reason = code == 0 ? "" : ": " + String(cString: strerror(code))
        switch fields[0] {
        case "join": return "the task's supervisor could not join the task's cgroup \(fields[2])\(reason); it ran nothing"
        case "user":
            let shell = code == 0 ? " (the shell supervisor needs util-linux's setpriv)" : ""
            return "the task could not run as uid and gid \(fields[2])\(reason)\(shell); it ran nothing"
        default: return nil
        }
    }

    /// Watches a task this process did not start (after a recovery) until it ends.
    func watchByPolling() {
        Task.detached { [self] in
            while isRunning {
                try? await Task.sleep(for: .milliseconds(50))
            }
            finalize(supervisorStatus: nil)
        }
    }

    /// Stops the task when its deadline passes.
    func enforceDeadline(stop: @escaping @Sendable () async -> Void) {
        guard let deadline = handle.deadline else { return }
        Task.detached { [self] in
            let remaining = deadline.timeIntervalSinceNow
            if remaining > 0 {
                if await result.value(timeout: .milliseconds(Int64(remaining * 1000))) != nil { return }
            }
            guard result.current == nil else { return }
            markTimedOut()
            await stop()
        }
    }
}
