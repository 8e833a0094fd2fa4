/// One process (container, binary, WASM module) of a group.
public struct TaskSpec: Hashable, Sendable {
    public var name: String
    /// The driver that runs it: "exec", "docker", "wasm", ...
    public var driver: String
    /// Driver-specific settings, kept as a document tree.
    public var config: [String: SpecValue]
    public var env: [String: String]
    public var resources: Resources
    /// Time between the kill signal and a forced kill. Default 5 s.
    public var killTimeout: Duration
    /// Default "SIGINT", as Nomad.
    public var killSignal: String
    /// Maximum run time of the task; nil for none.
    public var timeout: Duration?
    public var inputs: [DataInput]
    public var outputs: [DataOutput]
    public var meta: [String: String]

    public init(name: String, driver: String, config: [String: SpecValue] = [:], env: [String: String] = [:],
                resources: Resources = Resources(), killTimeout: Duration = .seconds(5),
                killSignal: String = "SIGINT", timeout: Duration? = nil, inputs: [DataInput] = [],
                outputs: [DataOutput] = [], meta: [String: String] = [:]) {
        self.name = name
        self.driver = driver
        self.config = config
        self.env = env
        self.resources = resources
        self.killTimeout = killTimeout
        self.killSignal = killSignal
        self.timeout = timeout
        self.inputs = inputs
        self.outputs = outputs
        self.meta = meta
    }
}

extension TaskSpec: SpecMappable {
    public static func read(from r: inout SpecReader) -> TaskSpec {
        var t = TaskSpec(name: r.string("name") ?? "", driver: r.string("driver") ?? "")
        if let config = r.value("config") {
            if case .map(let pairs) = config {
                t.config = Dictionary(pairs.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
            } else {
                r.report("config", "must be a map, not \(config.kindDescription)")
            }
        }
        t.env = r.stringMap("env") ?? [:]
        t.resources = r.object("resources", Resources.read) ?? Resources()
        if let v = r.duration("kill_timeout") { t.killTimeout = v }
        if let v = r.string("kill_signal") { t.killSignal = v }
        t.timeout = r.duration("timeout")
        t.inputs = r.objects("inputs", DataInput.read) ?? []
        t.outputs = r.objects("outputs", DataOutput.read) ?? []
        t.meta = r.stringMap("meta") ?? [:]
        return t
    }

    public var specValue: SpecValue {
        var w = SpecWriter()
        w.put("name", name)
        w.put("driver", driver)
        if !config.isEmpty {
            w.put("config", SpecValue.map(config.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))
        }
        w.put("env", env)
        w.put("resources", resources)
        w.put("kill_timeout", killTimeout)
        w.put("kill_signal", killSignal)
        w.put("timeout", timeout)
        w.put("inputs", inputs)
        w.put("outputs", outputs)
        w.put("meta", meta)
        return w.value
    }
}
