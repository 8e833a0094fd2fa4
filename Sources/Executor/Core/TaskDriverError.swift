/// Why a driver could not do what it was asked. Each case says what was wrong
/// and, where there is one, what to do about it.
public enum TaskDriverError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The task's driver configuration is wrong.
    case invalidConfig(driver: String, reason: String)
    /// The executable to run does not exist or cannot be executed.
    case executableNotFound(String, reason: String)
    /// The container image is neither present nor could be pulled.
    case imageNotFound(String, reason: String)
    /// The WebAssembly module could not be read, parsed or instantiated.
    case invalidModule(String, reason: String)
    /// The engine behind the driver (Docker, cgroups...) cannot be used.
    case engineUnavailable(driver: String, reason: String)
    /// The task could not be started.
    case startFailed(taskID: String, reason: String)
    /// The driver knows no task with this id: it was never started here or recovered.
    case unknownTask(String)
    /// The handle belongs to another driver.
    case wrongDriver(handle: String, driver: String)
    /// The task cannot be reattached after an agent restart.
    case notRecoverable(taskID: String, reason: String)
    /// The engine failed while working on a task.
    case engineFailed(taskID: String, operation: String, reason: String)
    /// No driver is registered under this name.
    case unknownDriver(String, known: [String])
    /// A driver is already registered under this name.
    case duplicateDriver(String)
    /// The task directory could not be prepared.
    case taskDirectoryFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidConfig(let driver, let reason):
            return "invalid \(driver) driver configuration: \(reason)"
        case .executableNotFound(let path, let reason):
            return "executable \"\(path)\" cannot be run: \(reason)"
        case .imageNotFound(let image, let reason):
            return "image \"\(image)\" is not available: \(reason)"
        case .invalidModule(let path, let reason):
            return "WebAssembly module \"\(path)\" cannot be used: \(reason)"
        case .engineUnavailable(let driver, let reason):
            return "the \(driver) driver is unavailable on this node: \(reason)"
        case .startFailed(let taskID, let reason):
            return "task \(taskID) could not be started: \(reason)"
        case .unknownTask(let taskID):
            return "no task \(taskID) is known to this driver: start or recover it first"
        case .wrongDriver(let handle, let driver):
            return "the handle is for the \(handle) driver, not \(driver)"
        case .notRecoverable(let taskID, let reason):
            return "task \(taskID) cannot be reattached: \(reason)"
        case .engineFailed(let taskID, let operation, let reason):
            return "\(operation) of task \(taskID) failed: \(reason)"
        case .unknownDriver(let name, let known):
            return "no task driver named \"\(name)\" (known: \(known.sorted().joined(separator: ", ")))"
        case .duplicateDriver(let name):
            return "a task driver named \"\(name)\" is already registered"
        case .taskDirectoryFailed(let path, let reason):
            return "task directory \(path) could not be prepared: \(reason)"
        }
    }
}
