/// The plug-in point for executors: one implementation per way of running a task
/// (a process, a container, a WebAssembly module, or anything a third party adds).
///
/// The lifecycle an agent drives:
/// 1. ``fingerprint()`` tells whether the driver is usable on this node.
/// 2. ``start(_:in:)`` starts a task in its ``TaskDirectory`` and returns a
///    ``TaskHandle``, which the agent persists.
/// 3. ``wait(_:)`` returns the ``TaskResult`` once the task has ended (any number
///    of callers may wait); ``signal(_:_:)``, ``stop(_:)`` and ``stats(_:)`` act on
///    it meanwhile.
/// 4. After an agent restart, ``recover(_:)`` reattaches to the task from its
///    handle without starting it again.
/// 5. ``destroy(_:)`` releases everything the driver holds for the task.
///
/// Drivers write the task's stdout and stderr to rotating files in the task
/// directory's `logs/` (see ``LogRotator`` and ``LogReader``).
public protocol TaskDriver: Sendable {
    /// The name tasks use to pick this driver (`exec`, `docker`, `wasm`, ...).
    var name: String { get }

    /// Whether the driver is usable here, its engine's version and the node
    /// attributes it contributes.
    func fingerprint() async -> DriverFingerprint

    /// Starts `task` in `directory` and returns once it runs.
    func start(_ task: TaskSpec, in directory: TaskDirectory) async throws(TaskDriverError) -> TaskHandle

    /// Waits until the task has ended and returns how it ended.
    func wait(_ handle: TaskHandle) async throws(TaskDriverError) -> TaskResult

    /// Sends `signal` to the task (to its whole process group, where it has one).
    func signal(_ handle: TaskHandle, _ signal: TaskSignal) async throws(TaskDriverError)

    /// Stops the task: sends the handle's kill signal, then `SIGKILL` when the
    /// task is still running after the kill timeout. Returns once it has ended.
    func stop(_ handle: TaskHandle) async throws(TaskDriverError)

    /// The task's current resource use.
    func stats(_ handle: TaskHandle) async throws(TaskDriverError) -> TaskStats

    /// Reattaches to a task started before an agent restart. Never starts the
    /// task again: a task that ended meanwhile is reported by ``wait(_:)``.
    func recover(_ handle: TaskHandle) async throws(TaskDriverError)

    /// Stops the task if it still runs and releases what the driver holds for it
    /// (cgroups, containers, in-memory state). The task directory stays.
    func destroy(_ handle: TaskHandle) async throws(TaskDriverError)
}

extension TaskDriver {
    /// Throws unless `handle` was made by this driver.
    public func checkOwnership(of handle: TaskHandle) throws(TaskDriverError) {
        guard handle.driver == name else { throw .wrongDriver(handle: handle.driver, driver: name) }
    }
}
