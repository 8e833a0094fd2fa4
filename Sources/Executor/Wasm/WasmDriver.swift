import Foundation
@_spi(Fuzzing) import WasmKit
import WasmKitWASI
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs a WASI preview1 module in-process with WasmKit.
///
/// - The guest gets the task's arguments and environment, and the task
///   directory's mounts preopened at `/local`, `/secrets`, `/outputs` and
///   `/inputs/<name>`. Read-only mounts refuse opening for writing, creating,
///   truncating, renaming, linking and removing under them (`EROFS`), through
///   every descriptor derived from them, renumbered or not
///   (see `ReadOnlyDescriptors`).
/// - stdout and stderr go to rotating files in `logs/`, written on the
///   guest's thread as it writes (see `GuestStdio`); stdin is empty.
/// - `fuel` in the configuration bounds executed operators ("out of fuel");
///   the task's memory limit bounds linear memory (growth beyond it fails).
/// - A signal, the timeout and ``stop(_:)`` end the guest at its next WASI call
///   or, for one that makes none, at its next fuel charge (fuel is always
///   metered; see `WasmControl`), or in its sleep (a `poll_oneoff` on one
///   relative clock). A guest blocked in another WASI call ends when the call
///   returns.
/// - The guest runs inside the agent, so it does not survive an agent restart:
///   ``recover(_:)`` reports ``TaskDriverError/notRecoverable(taskID:reason:)``
///   and the agent starts the task again.
public final class WasmDriver: TaskDriver {
    /// `wasm`.
    public let name = "wasm"
    private let tasks = Mutex<[String: WasmTask]>([:])
    private let modules = ModuleCache()

    /// A wasm driver.
    public init() {}

    public func fingerprint() async -> DriverFingerprint {
        DriverFingerprint(
            driver: name, health: .healthy, version: "WasmKit 0.4.2",
            attributes: ["driver.wasm.wasi": "preview1", "driver.wasm.fuel": "true", "driver.wasm.memory_limit": "enforced"]
        )
    }

    public func start(_ task: TaskSpec, in directory: TaskDirectory) async throws(TaskDriverError) -> TaskHandle {
        let config = try WasmConfig(task.config)
        let path = config.module.hasPrefix("/") ? config.module : directory.root + "/" + config.module
        let module = try modules.module(at: path, named: config.module)

        let stdout = LogRotator(directory: directory.logs, name: "\(task.name).stdout", policy: task.logs)
        let stderr = LogRotator(directory: directory.logs, name: "\(task.name).stderr", policy: task.logs)
        let handle = TaskHandle(driver: name, spec: task, directory: directory, startedAt: Date(), state: ["module": .string(path)])
        let running = WasmTask(handle: handle, logs: [stdout, stderr])
        let mounts = directory.guestMounts()
        let environment = TaskEnvironment.variables(for: task, directory: directory, guestPaths: true)
        let arguments = [(config.module as NSString).lastPathComponent] + config.args
        let limits = WasmLimits(memoryBytes: task.resources.memoryBytes, fuel: config.fuel)
        tasks.withLock { $0[task.id] = running }
        // Guest code blocks its thread while it runs: give it one of its own.
        GuestThreads.shared.run(named: "caravan-wasm-\(task.id)") {
            let outcome = WasmRunner.run(
                module: module, arguments: arguments, environment: environment, mounts: mounts,
                stdout: stdout, stderr: stderr, limits: limits, control: running.control
            )
            running.finish(outcome)
        }
        if let deadline = handle.deadline {
            Task.detached {
                let remaining = max(0, deadline.timeIntervalSinceNow)
                if await running.result.value(timeout: .milliseconds(Int64(remaining * 1000))) == nil {
                    running.control.cancel(reason: .timedOut)
                }
            }
        }
        return handle
    }

    public func wait(_ handle: TaskHandle) async throws(TaskDriverError) -> TaskResult {
        try await task(for: handle).result.value()
    }

    public func signal(_ handle: TaskHandle, _ signal: TaskSignal) async throws(TaskDriverError) {
        let running = try task(for: handle)
        // A guest has no signal handlers: every terminating signal ends it.
        if [TaskSignal.terminate, .kill, .interrupt, .hangup, .quit].contains(signal) {
            running.control.cancel(reason: .signaled(signal))
        }
    }

    public func stop(_ handle: TaskHandle) async throws(TaskDriverError) {
        let running = try task(for: handle)
        running.control.cancel(reason: .signaled(handle.killSignal))
        _ = await running.result.value()
    }

    public func stats(_ handle: TaskHandle) async throws(TaskDriverError) -> TaskStats {
        let running = try task(for: handle)
        return TaskStats(cpuTime: running.control.elapsed, memoryBytes: running.control.memoryBytes)
    }

    public func recover(_ handle: TaskHandle) async throws(TaskDriverError) {
        try checkOwnership(of: handle)
        if tasks.withLock({ $0[handle.taskID] }) != nil { return }
        throw .notRecoverable(
            taskID: handle.taskID,
            reason: "WebAssembly tasks run inside the agent and ended with it; start the task again"
        )
    }

    public func destroy(_ handle: TaskHandle) async throws(TaskDriverError) {
        let running = try task(for: handle)
        running.control.cancel(reason: .signaled(.kill))
        _ = await running.result.value()
        tasks.withLock { _ = $0.removeValue(forKey: handle.taskID) }
    }

    private func task(for handle: TaskHandle) throws(TaskDriverError) -> WasmTask {
        try checkOwnership(of: handle)
        guard let running = tasks.withLock({ $0[handle.taskID] }) else { throw .unknownTask(handle.taskID) }
        return running
    }
}

/// Parsed modules by path, each kept while its file is unchanged: a job
/// of many tasks runs one module many times, and reading and parsing it for
/// each was a tenth of starting a short guest.
final class ModuleCache: Sendable {
    /// What tells a file's contents apart without reading them.
    private struct Identity: Equatable {
        var device: UInt64, inode: UInt64, size: Int64
        var modified: Int64, modifiedNanoseconds: Int, changed: Int64, changedNanoseconds: Int

        init(_ info: stat) {
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            modified = Int64(info.st_mtim.tv_sec)
            modifiedNanoseconds = Int(info.st_mtim.tv_nsec)
            changed = Int64(info.st_ctim.tv_sec)
            changedNanoseconds = Int(info.st_ctim.tv_nsec)
        }
    }

    /// Modules kept at most; past it the cache starts over.
    static let capacity = 64
    private let entries = Mutex<[String: (identity: Identity, module: Module)]>([:])

    /// The command module at `path` (`name` is how the task named it, for errors).
    func module(at path: String, named name: String) throws(TaskDriverError) -> Module {
        var info = stat()
        if stat(path, &info) == 0, let entry = entries.withLock({ $0[path] }), entry.identity == Identity(info) {
            return entry.module
        }
        func unreadable() -> TaskDriverError {
            .invalidModule(name, reason: "\(path) cannot be read: \(String(cString: strerror(errno)))")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw unreadable() }
        defer { close(fd) }
        guard fstat(fd, &info) == 0, let bytes = KernelFile.bytes(of: fd) else { throw unreadable() }
        let module: Module
        do {
            module = try parseWasm(bytes: bytes)
        } catch {
            throw .invalidModule(name, reason: "not a valid WebAssembly module: \(error)")
        }
        guard module.exports.contains(where: { $0.name == "_start" }) else {
            throw .invalidModule(name, reason: "it exports no \"_start\" function (a WASI command module is needed)")
        }
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll() }
            entries[path] = (Identity(info), module)
        }
        return module
    }
}

/// One running guest.
final class WasmTask: Sendable {
    let handle: TaskHandle
    let control = WasmControl()
    let result = ResultLatch<TaskResult>()
    private let logs: [LogRotator]

    init(handle: TaskHandle, logs: [LogRotator]) {
        self.handle = handle
        self.logs = logs
    }

    func finish(_ result: TaskResult) {
        for log in logs { log.close() }
        self.result.resolve(result)
    }
}

/// Limits of one guest.
struct WasmLimits: Sendable {
    var memoryBytes: Int?
    var fuel: UInt64?
}

/// Shared between the guest's thread and the driver: cancellation, the
/// interrupt, and usage.
///
/// WasmKit has no asynchronous interrupt, so a stop reaches a guest two ways:
/// its next WASI call throws ``WasmCancelled``, and, for a guest that makes
/// none, its fuel is set to zero so that its next fuel charge (at least one per
/// loop iteration and function call) traps. The store is confined to the
/// guest's thread and its fuel counter is unsynchronized, so that write races
/// the guest's own charges: it is an aligned 64-bit store (never torn) that a
/// concurrent charge can overwrite, which is why it is repeated, every few
/// milliseconds, until the guest has ended. The guest then unwinds with "out of
/// fuel", which the runner reports as the stop it was.
final class WasmControl: Sendable {
    enum Reason: Sendable, Equatable {
        case timedOut
        case signaled(TaskSignal)
    }

    /// `@unchecked`: it holds the guest's `Store`, which is not `Sendable`;
    /// only ``interrupt()`` touches it from another thread (see above).
    private struct State: @unchecked Sendable {
        var cancelled: Reason?
        var memoryBytes = 0
        var started = ContinuousClock.now
        /// The running guest's store (see the type's note on why it is shared).
        var store: Store?
        var finished = false
    }

    private let state = Mutex(State())
    /// Signalled on cancellation: ends a ``sleep(for:)``.
    private let wakeUp = DispatchSemaphore(value: 0)

    /// Blocks the guest's thread for `duration`, or until the guest is
    /// cancelled; `false` when cancelled.
    func sleep(for duration: Duration) -> Bool {
        guard cancellation == nil else { return false }
        let (seconds, attoseconds) = duration.components
        let nanoseconds = min(Int64(Int32.max), seconds) * 1_000_000_000 + attoseconds / 1_000_000_000
        _ = wakeUp.wait(timeout: .now() + .nanoseconds(Int(nanoseconds)))
        return cancellation == nil
    }

    /// Ends the guest for `reason` (the first reason given wins).
    func cancel(reason: Reason) {
        let first = state.withLock { state -> Bool in
            guard state.cancelled == nil else { return false }
            state.cancelled = reason
            return true
        }
        guard first else { return }
        wakeUp.signal()
        Task.detached { [self] in
            while interrupt() {
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    /// Sets the running guest's fuel to zero; `false` once the guest has ended.
    private func interrupt() -> Bool {
        state.withLock { state in
            guard !state.finished else { return false }
            state.store?.fuel = Fuel(remaining: 0)
            return true
        }
    }

    /// The guest's store, from its thread, before the guest runs.
    func attach(_ store: Store) {
        state.withLock { state in
            state.store = store
            // Stopped before it started: on this thread, the write races nothing.
            if state.cancelled != nil { store.fuel = Fuel(remaining: 0) }
        }
    }

    /// From the guest's thread once the guest has ended: no interrupt touches the store after this.
    func detach() {
        state.withLock { state in
            state.store = nil
            state.finished = true
        }
    }

    var cancellation: Reason? { state.withLock { $0.cancelled } }
    var memoryBytes: Int { state.withLock { $0.memoryBytes } }
    var elapsed: Duration { ContinuousClock.now - state.withLock { $0.started } }

    func recordMemory(_ bytes: Int) { state.withLock { $0.memoryBytes = bytes } }
}

/// Thrown from a WASI call to end a guest that was stopped or timed out.
struct WasmCancelled: Error, CustomStringConvertible {
    var reason: WasmControl.Reason
    var description: String { "the task was stopped" }
}

/// Caps linear memory growth at a number of bytes.
final class MemoryCap: ResourceLimiter {
    let limit: Int
    let control: WasmControl

    init(limit: Int, control: WasmControl) {
        self.limit = limit
        self.control = control
    }

    func limitMemoryGrowth(to desired: Int) throws -> Bool {
        guard desired <= limit else { return false }
        control.recordMemory(desired)
        return true
    }

    func limitTableGrowth(to desired: Int) throws -> Bool { true }
}
