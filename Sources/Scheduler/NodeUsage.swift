import Model

/// Resources in use on one node: the sum of its allocations that hold
/// resources (wanted running, not finished).
public struct NodeUsage: Hashable, Sendable {
    public var cpu: Int = 0
    public var cores: Int = 0
    public var memoryMB: Int = 0
    public var diskMB: Int = 0
    /// Instances in use per device group ("vendor/type/name").
    public var devices: [String: Int] = [:]

    public init() {}

    mutating func add(_ r: AllocatedResources, sign: Int = 1) {
        cpu += sign * r.cpu
        cores += sign * r.cores
        memoryMB += sign * r.memoryMB
        diskMB += sign * r.diskMB
        for d in r.devices {
            let n = (devices[d.group] ?? 0) + sign * d.instanceIDs.count
            devices[d.group] = n == 0 ? nil : n
        }
    }

    mutating func remove(_ r: AllocatedResources) {
        add(r, sign: -1)
    }
}

/// What a node can give to allocations (its resources less its reserve),
/// flattened for the placement hot path.
public struct NodeCapacity: Hashable, Sendable {
    public var cpu: Int
    public var cores: Int
    public var memoryMB: Int
    public var diskMB: Int
    /// MHz of one core (for asks of whole cores).
    public var mhzPerCore: Int
    public var hasDevices: Bool

    init(_ node: Node) {
        cpu = node.resources.cpu - node.reserved.cpu
        cores = node.resources.cores - node.reserved.cores
        memoryMB = node.resources.memoryMB - node.reserved.memoryMB
        diskMB = node.resources.diskMB - node.reserved.diskMB
        mhzPerCore = node.resources.cores > 0 ? node.resources.cpu / node.resources.cores : 0
        hasDevices = !node.resources.devices.isEmpty
    }
}

/// What a group asks of a node, flattened for fast checks.
struct ResourceAsk {
    var cpu: Int
    var cores: Int
    var memoryMB: Int
    var memoryMaxMB: Int?
    var diskMB: Int
    var devices: [DeviceRequest]

    init(_ group: GroupSpec) {
        let total = group.totalResources
        cpu = total.cpu
        cores = total.cores
        memoryMB = total.memoryMB
        memoryMaxMB = total.memoryMaxMB
        diskMB = total.diskMB
        devices = total.devices
    }

    /// CPU MHz the ask takes on a node: its share plus its whole cores.
    func effectiveCPU(_ capacity: NodeCapacity) -> Int {
        cores > 0 ? cpu + cores * capacity.mhzPerCore : cpu
    }
}

/// The dimension an ask does not fit in, or nil when it fits. `devices`
/// is read only when the ask has devices.
func exhaustedDimension(_ capacity: NodeCapacity, usage: NodeUsage, ask: ResourceAsk,
                        devices: @autoclosure () -> [NodeDeviceGroup]) -> String? {
    if ask.cores > 0, usage.cores + ask.cores > capacity.cores { return "cores" }
    if usage.cpu + ask.effectiveCPU(capacity) > capacity.cpu { return "cpu" }
    if usage.memoryMB + ask.memoryMB > capacity.memoryMB { return "memory" }
    if ask.diskMB > 0, usage.diskMB + ask.diskMB > capacity.diskMB { return "disk" }
    guard !ask.devices.isEmpty else { return nil }
    let groups = devices()
    for request in ask.devices {
        var free = 0
        for group in groups where group.matches(request.name) {
            free += group.instanceIDs.count - (usage.devices[group.id] ?? 0)
        }
        if free < request.count { return "devices \(request.name)" }
    }
    return nil
}
