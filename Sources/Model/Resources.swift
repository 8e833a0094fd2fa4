/// A request for devices such as GPUs: `count` instances whose name matches
/// `name` ("gpu", "nvidia/gpu" or "nvidia/gpu/A100").
public struct DeviceRequest: Hashable, Sendable {
    public var name: String
    public var count: Int
    /// Constraints on device attributes (`${device.attr.memory}`), ignored today
    /// beyond validation.
    public var constraints: [Constraint]

    public init(name: String, count: Int = 1, constraints: [Constraint] = []) {
        self.name = name
        self.count = count
        self.constraints = constraints
    }
}

/// What a task asks for. Nomad's defaults: 100 MHz CPU, 300 MB memory.
public struct Resources: Hashable, Sendable {
    /// CPU share in MHz (exclusive with `cores`).
    public var cpu: Int
    /// Whole cores reserved for the task.
    public var cores: Int
    public var memoryMB: Int
    /// Memory the task may use beyond `memoryMB` when the node has it free
    /// (oversubscription); nil when not allowed.
    public var memoryMaxMB: Int?
    public var diskMB: Int
    public var devices: [DeviceRequest]

    public init(cpu: Int = 100, cores: Int = 0, memoryMB: Int = 300, memoryMaxMB: Int? = nil,
                diskMB: Int = 0, devices: [DeviceRequest] = []) {
        self.cpu = cpu
        self.cores = cores
        self.memoryMB = memoryMB
        self.memoryMaxMB = memoryMaxMB
        self.diskMB = diskMB
        self.devices = devices
    }
}

extension DeviceRequest: SpecMappable {
    public static func read(from r: inout SpecReader) -> DeviceRequest {
        DeviceRequest(
            name: r.string("name") ?? "",
            count: r.int("count") ?? 1,
            constraints: r.objects("constraints", Constraint.read) ?? []
        )
    }

    public var specValue: SpecValue {
        var w = SpecWriter()
        w.put("name", name)
        w.put("count", count)
        w.put("constraints", constraints)
        return w.value
    }
}

extension Resources: SpecMappable {
    public static func read(from r: inout SpecReader) -> Resources {
        var res = Resources()
        let coresGiven = r.has("cores")
        if let v = r.int("cpu") {
            res.cpu = v
        } else if coresGiven {
            res.cpu = 0
        }
        if let v = r.int("cores") { res.cores = v }
        if let v = r.int("memory_mb") { res.memoryMB = v }
        res.memoryMaxMB = r.int("memory_max_mb")
        if let v = r.int("disk_mb") { res.diskMB = v }
        res.devices = r.objects("devices", DeviceRequest.read) ?? []
        return res
    }

    public var specValue: SpecValue {
        var w = SpecWriter()
        if cpu > 0 || cores == 0 { w.put("cpu", cpu) }
        if cores > 0 { w.put("cores", cores) }
        w.put("memory_mb", memoryMB)
        w.put("memory_max_mb", memoryMaxMB)
        if diskMB > 0 { w.put("disk_mb", diskMB) }
        w.put("devices", devices)
        return w.value
    }
}
