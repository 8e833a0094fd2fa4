/// The `wasm` driver's configuration block:
///
/// ```json
/// { "module": "local/job.wasm", "args": ["--fast"], "fuel": 100000000 }
/// ```
///
/// `module` is absolute or relative to the task directory. `fuel` bounds the
/// number of WebAssembly operators executed (about one unit each); the task's
/// memory limit bounds the guest's linear memory.
public struct WasmConfig: Sendable, Hashable, Codable {
    /// The WASI preview1 module to run.
    public var module: String
    /// Arguments after the program name.
    public var args: [String]
    /// The fuel budget, or `nil` for none.
    public var fuel: UInt64?

    /// A wasm configuration.
    public init(module: String, args: [String] = [], fuel: UInt64? = nil) {
        self.module = module
        self.args = args
        self.fuel = fuel
    }

    /// The configuration as the JSON value a ``TaskSpec`` carries.
    public var json: JSONValue {
        var object: [String: JSONValue] = ["module": .string(module), "args": .array(args.map { .string($0) })]
        if let fuel { object["fuel"] = .number(Double(fuel)) }
        return .object(object)
    }

    /// Reads a task's configuration block.
    public init(_ config: JSONValue) throws(TaskDriverError) {
        guard case .object(let members) = config else {
            throw .invalidConfig(driver: "wasm", reason: "the configuration must be an object with a \"module\"")
        }
        for key in members.keys where !["module", "args", "fuel"].contains(key) {
            throw .invalidConfig(driver: "wasm", reason: "unknown key \"\(key)\" (known: module, args, fuel)")
        }
        guard let module = members["module"]?.stringValue, !module.isEmpty else {
            throw .invalidConfig(driver: "wasm", reason: "\"module\" must be a non-empty string")
        }
        var args: [String] = []
        if let value = members["args"] {
            guard let strings = value.stringArrayValue else { throw .invalidConfig(driver: "wasm", reason: "\"args\" must be an array of strings") }
            args = strings
        }
        var fuel: UInt64?
        if let value = members["fuel"] {
            guard let number = value.intValue, number > 0 else { throw .invalidConfig(driver: "wasm", reason: "\"fuel\" must be a positive integer") }
            fuel = UInt64(number)
        }
        self.init(module: module, args: args, fuel: fuel)
    }
}
