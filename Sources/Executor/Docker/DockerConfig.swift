/// The `docker` driver's configuration block:
///
/// ```json
/// { "image": "busybox:1", "entrypoint": ["/bin/sh", "-c"], "command": "echo hi",
///   "args": [], "work_dir": "/local", "network_mode": "none", "labels": {"team": "a"},
///   "cpu_hard_limit": false }
/// ```
///
/// `command` and `args` form the container's command; `network_mode` is `none`
/// unless set; `cpu_hard_limit` caps the container at the CPU the task asks
/// for (`NanoCpus`) instead of giving it that share of contended CPU (`CpuShares`).
public struct DockerConfig: Sendable, Hashable, Codable {
    /// The image, pulled when missing.
    public var image: String
    /// Replaces the image's entrypoint.
    public var entrypoint: [String]?
    /// The command (with `args` after it); the image's when both are absent.
    public var command: String?
    /// Arguments after the command.
    public var args: [String]
    /// The working directory inside the container.
    public var workDir: String?
    /// Docker's network mode (`none`, `bridge`, `host`, ...).
    public var networkMode: String
    /// Extra container labels.
    public var labels: [String: String]
    /// Whether the CPU the task asks for is a cap rather than a share.
    public var cpuHardLimit: Bool

    /// A docker configuration.
    public init(image: String, entrypoint: [String]? = nil, command: String? = nil, args: [String] = [], workDir: String? = nil, networkMode: String = "none", labels: [String: String] = [:], cpuHardLimit: Bool = false) {
        self.image = image
        self.entrypoint = entrypoint
        self.command = command
        self.args = args
        self.workDir = workDir
        self.networkMode = networkMode
        self.labels = labels
        self.cpuHardLimit = cpuHardLimit
    }

    /// The configuration as the JSON value a ``TaskSpec`` carries.
    public var json: JSONValue {
        var object: [String: JSONValue] = ["image": .string(image), "args": .array(args.map { .string($0) }), "network_mode": .string(networkMode)]
        if let entrypoint { object["entrypoint"] = .array(entrypoint.map { .string($0) }) }
        if let command { object["command"] = .string(command) }
        if let workDir { object["work_dir"] = .string(workDir) }
        if !labels.isEmpty { object["labels"] = .object(labels.mapValues { .string($0) }) }
        if cpuHardLimit { object["cpu_hard_limit"] = .bool(true) }
        return .object(object)
    }

    /// Reads a task's configuration block.
    public init(_ config: JSONValue) throws(TaskDriverError) {
        let known = ["image", "entrypoint", "command", "args", "work_dir", "network_mode", "labels", "cpu_hard_limit"]
        guard case .object(let members) = config else {
            throw .invalidConfig(driver: "docker", reason: "the configuration must be an object with an \"image\"")
        }
        for key in members.keys where !known.contains(key) {
            throw .invalidConfig(driver: "docker", reason: "unknown key \"\(key)\" (known: \(known.joined(separator: ", ")))")
        }
        guard let image = members["image"]?.stringValue, !image.isEmpty else {
            throw .invalidConfig(driver: "docker", reason: "\"image\" must be a non-empty string")
        }
        func strings(_ key: String) throws(TaskDriverError) -> [String]? {
            guard let value = members[key] else { return nil }
            guard let strings = value.stringArrayValue else { throw .invalidConfig(driver: "docker", reason: "\"\(key)\" must be an array of strings") }
            return strings
        }
        func string(_ key: String) throws(TaskDriverError) -> String? {
            guard let value = members[key] else { return nil }
            guard let string = value.stringValue else { throw .invalidConfig(driver: "docker", reason: "\"\(key)\" must be a string") }
            return string
        }
        var labels: [String: String] = [:]
        if let value = members["labels"] {
            guard let object = value.objectValue else { throw .invalidConfig(driver: "docker", reason: "\"labels\" must be an object of strings") }
            for (key, value) in object {
                guard let string = value.stringValue else { throw .invalidConfig(driver: "docker", reason: "label \"\(key)\" must be a string") }
                labels[key] = string
            }
        }
        _ = try Self.reference(image)
        self.init(
            image: image, entrypoint: try strings("entrypoint"), command: try string("command"), args: try strings("args") ?? [],
            workDir: try string("work_dir"), networkMode: try string("network_mode") ?? "none", labels: labels,
            cpuHardLimit: try members.flag("cpu_hard_limit", driver: "docker")
        )
    }

    /// The image as a reference (registry, path, tag, digest).
    public func imageReference() throws(TaskDriverError) -> ImageReference {
        try Self.reference(image)
    }

    static func reference(_ image: String) throws(TaskDriverError) -> ImageReference {
        do {
            return try ImageReference(parsing: image)
        } catch {
            throw .invalidConfig(driver: "docker", reason: "\"image\": \(error)")
        }
    }
}
