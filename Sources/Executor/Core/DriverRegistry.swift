import Synchronization

/// The task drivers an agent offers, by name. The agent registers the built-in
/// drivers and any custom ones when it starts, then looks drivers up by the
/// name in each task's specification.
///
/// ```swift
/// let registry = DriverRegistry.builtIn()
/// try registry.register(MyDriver())
/// let driver = try registry.driver(named: task.driver)
/// ```
public final class DriverRegistry: Sendable {
    private let drivers = Mutex<[String: any TaskDriver]>([:])

    /// An empty registry.
    public init() {}

    /// A registry holding the built-in `exec`, `docker` and `wasm` drivers.
    ///
    /// - Parameters:
    ///   - dockerSocket: the Docker engine's socket for the docker driver.
    ///   - stateDirectory: a directory the agent keeps, for drivers' files
    ///     (the exec driver's supervisor); nil: temporary ones.
    public static func builtIn(dockerSocket: String = DockerDriver.defaultSocket, stateDirectory: String? = nil) -> DriverRegistry {
        let registry = DriverRegistry()
        for driver: any TaskDriver in [ExecDriver(stateDirectory: stateDirectory), DockerDriver(socketPath: dockerSocket), WasmDriver()] {
            try? registry.register(driver)
        }
        return registry
    }

    /// Adds `driver` under its name.
    /// - Throws: ``TaskDriverError/duplicateDriver(_:)`` when the name is taken.
    public func register(_ driver: any TaskDriver) throws(TaskDriverError) {
        try drivers.withLock { drivers throws(TaskDriverError) in
            guard drivers[driver.name] == nil else { throw .duplicateDriver(driver.name) }
            drivers[driver.name] = driver
        }
    }

    /// Adds `driver`, replacing one of the same name.
    public func replace(_ driver: any TaskDriver) {
        drivers.withLock { $0[driver.name] = driver }
    }

    /// The driver named `name`.
    /// - Throws: ``TaskDriverError/unknownDriver(_:known:)`` when none is registered.
    public func driver(named name: String) throws(TaskDriverError) -> any TaskDriver {
        let (driver, known) = drivers.withLock { ($0[name], Array($0.keys)) }
        guard let driver else { throw .unknownDriver(name, known: known) }
        return driver
    }

    /// The names of the registered drivers, sorted.
    public var names: [String] { drivers.withLock { $0.keys.sorted() } }

    /// The fingerprints of all registered drivers, by driver name.
    public func fingerprints() async -> [String: DriverFingerprint] {
        let all = drivers.withLock { Array($0.values) }
        var result: [String: DriverFingerprint] = [:]
        for driver in all { result[driver.name] = await driver.fingerprint() }
        return result
    }
}
