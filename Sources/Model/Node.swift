/// The lifecycle state of a client node, as the servers see it.
public enum NodeStatus: String, CaseIterable, Hashable, Codable, Sendable {
    /// Registered, not yet ready.
    case initializing
    /// Heartbeating; can run allocations.
    case ready
    /// Missed heartbeats without a disconnect allowance: its allocations are lost.
    case down
    /// Missed heartbeats; allocations of groups with a `disconnect` block
    /// become "unknown" until `lost_after`.
    case disconnected
}

/// Whether new allocations may be placed on a node.
public enum NodeEligibility: String, CaseIterable, Hashable, Codable, Sendable {
    case eligible
    case ineligible
}

/// A task driver on a node.
public struct DriverInfo: Hashable, Codable, Sendable {
    public var detected: Bool
    public var healthy: Bool
    /// Driver attributes, exposed to constraints as `${attr.driver.NAME.KEY}`.
    public var attributes: [String: String]

    public init(detected: Bool = true, healthy: Bool = true, attributes: [String: String] = [:]) {
        self.detected = detected
        self.healthy = healthy
        self.attributes = attributes
    }
}

/// A dataset a node holds locally, for data-local placement.
public struct DatasetInfo: Hashable, Codable, Sendable {
    public var sizeBytes: Int64
    public var version: String?

    public init(sizeBytes: Int64, version: String? = nil) {
        self.sizeBytes = sizeBytes
        self.version = version
    }
}

/// A group of identical devices on a node, such as four GPUs.
public struct NodeDeviceGroup: Hashable, Codable, Sendable {
    public var vendor: String
    public var type: String
    public var name: String
    /// Instance IDs of healthy devices.
    public var instanceIDs: [String]
    public var attributes: [String: String]

    public init(vendor: String, type: String, name: String, instanceIDs: [String], attributes: [String: String] = [:]) {
        self.vendor = vendor
        self.type = type
        self.name = name
        self.instanceIDs = instanceIDs
        self.attributes = attributes
    }

    /// "vendor/type/name".
    public var id: String { "\(vendor)/\(type)/\(name)" }

    /// Whether a request name ("gpu", "nvidia/gpu", "nvidia/gpu/A100") names this group.
    public func matches(_ request: String) -> Bool {
        let parts = request.split(separator: "/")
        switch parts.count {
        case 1: return parts[0] == type
        case 2: return parts[0] == vendor && parts[1] == type
        case 3: return parts[0] == vendor && parts[1] == type && parts[2] == name
        default: return false
        }
    }
}

/// What a node offers (or reserves for itself).
public struct NodeResources: Hashable, Codable, Sendable {
    /// Total CPU in MHz.
    public var cpu: Int
    /// Physical cores.
    public var cores: Int
    public var memoryMB: Int
    public var diskMB: Int
    public var devices: [NodeDeviceGroup]

    public init(cpu: Int, cores: Int = 0, memoryMB: Int, diskMB: Int = 0, devices: [NodeDeviceGroup] = []) {
        self.cpu = cpu
        self.cores = cores
        self.memoryMB = memoryMB
        self.diskMB = diskMB
        self.devices = devices
    }

    /// Nothing.
    public static let zero = NodeResources(cpu: 0, memoryMB: 0)
}

/// How a node drains: what moves, and by when.
public struct DrainSpec: Hashable, Codable, Sendable {
    /// Batch allocations may finish until `startedAt + deadline`; then they
    /// move too. Nil waits for them forever; zero moves them at once.
    public var deadline: Duration?
    /// Leave system jobs' allocations running (they stop with the node).
    public var ignoreSystemJobs: Bool
    public var startedAt: Timestamp

    public init(deadline: Duration?, ignoreSystemJobs: Bool = false, startedAt: Timestamp) {
        self.deadline = deadline
        self.ignoreSystemJobs = ignoreSystemJobs
        self.startedAt = startedAt
    }

    /// When batch allocations must have moved; nil for never.
    public var deadlineAt: Timestamp? { deadline.map { startedAt + $0 } }
}

/// A client node: where allocations run.
public struct Node: Hashable, Codable, Sendable, Identifiable {
    public var id: NodeID
    public var name: String
    public var datacenter: String
    public var nodeClass: String
    public var nodePool: String
    public var status: NodeStatus
    public var eligibility: NodeEligibility
    /// Draining: allocations migrate away, nothing new is placed.
    public var drain: Bool
    /// How it drains, while `drain` is set.
    public var drainSpec: DrainSpec?
    /// Fingerprinted attributes: `${attr.KEY}` in constraints ("kernel.name", "os.name", ...).
    public var attributes: [String: String]
    /// Operator metadata: `${meta.KEY}`.
    public var meta: [String: String]
    public var resources: NodeResources
    /// Resources kept for the node's own processes.
    public var reserved: NodeResources
    /// Task drivers by name.
    public var drivers: [String: DriverInfo]
    /// Datasets held locally, by name.
    public var datasets: [String: DatasetInfo]
    /// When `status` last changed (a disconnect's start).
    public var statusUpdatedAt: Timestamp

    public init(id: NodeID, name: String? = nil, datacenter: String = "dc1", nodeClass: String = "",
                nodePool: String = "default", status: NodeStatus = .ready, eligibility: NodeEligibility = .eligible,
                drain: Bool = false, attributes: [String: String] = [:], meta: [String: String] = [:],
                resources: NodeResources, reserved: NodeResources = .zero, drivers: [String: DriverInfo] = [:],
                datasets: [String: DatasetInfo] = [:], statusUpdatedAt: Timestamp = .epoch) {
        self.id = id
        self.name = name ?? id.rawValue
        self.datacenter = datacenter
        self.nodeClass = nodeClass
        self.nodePool = nodePool
        self.status = status
        self.eligibility = eligibility
        self.drain = drain
        self.drainSpec = nil
        self.attributes = attributes
        self.meta = meta
        self.resources = resources
        self.reserved = reserved
        self.drivers = drivers
        self.datasets = datasets
        self.statusUpdatedAt = statusUpdatedAt
    }

    /// Whether new allocations may be placed here: ready, eligible, not draining.
    public var isSchedulable: Bool {
        status == .ready && eligibility == .eligible && !drain
    }
}
