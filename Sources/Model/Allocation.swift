/// What the servers want of an allocation.
public enum DesiredStatus: String, CaseIterable, Hashable, Codable, Sendable {
    case run
    case stop
    /// Stopped to make room for a higher-priority allocation.
    case evict
}

/// What the client reports of an allocation.
public enum ClientStatus: String, CaseIterable, Hashable, Codable, Sendable {
    case pending
    case running
    case complete
    case failed
    /// Its node went down: it is not running anywhere.
    case lost
    /// Its node is disconnected: it may still be running.
    case unknown

    /// Whether the allocation has finished for good on its node.
    public var isTerminal: Bool {
        self == .complete || self == .failed || self == .lost
    }
}

/// The state of one task in an allocation, reported by the client.
public struct TaskState: Hashable, Codable, Sendable {
    public enum State: String, Hashable, Codable, Sendable {
        case pending, running, dead
    }

    public var state: State
    public var failed: Bool
    public var restarts: Int
    public var startedAt: Timestamp?
    public var finishedAt: Timestamp?
    public var lastRestart: Timestamp?
    /// The exit code of the task's last run that exited (128 + N for signal N).
    public var exitCode: Int32?

    public init(state: State = .pending, failed: Bool = false, restarts: Int = 0, startedAt: Timestamp? = nil,
                finishedAt: Timestamp? = nil, lastRestart: Timestamp? = nil, exitCode: Int32? = nil) {
        self.state = state
        self.failed = failed
        self.restarts = restarts
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.lastRestart = lastRestart
        self.exitCode = exitCode
    }
}

/// One past reschedule of an allocation's lineage.
public struct RescheduleEvent: Hashable, Codable, Sendable {
    public var time: Timestamp
    public var previousAllocation: AllocationID
    public var previousNode: NodeID
    public var delay: Duration

    public init(time: Timestamp, previousAllocation: AllocationID, previousNode: NodeID, delay: Duration) {
        self.time = time
        self.previousAllocation = previousAllocation
        self.previousNode = previousNode
        self.delay = delay
    }
}

/// Devices given to an allocation.
public struct AllocatedDevice: Hashable, Codable, Sendable {
    /// "vendor/type/name" of the node's device group.
    public var group: String
    public var instanceIDs: [String]

    public init(group: String, instanceIDs: [String]) {
        self.group = group
        self.instanceIDs = instanceIDs
    }
}

/// Resources an allocation holds on its node.
public struct AllocatedResources: Hashable, Codable, Sendable {
    public var cpu: Int
    public var cores: Int
    public var memoryMB: Int
    public var memoryMaxMB: Int?
    public var diskMB: Int
    public var devices: [AllocatedDevice]

    public init(cpu: Int = 0, cores: Int = 0, memoryMB: Int = 0, memoryMaxMB: Int? = nil, diskMB: Int = 0,
                devices: [AllocatedDevice] = []) {
        self.cpu = cpu
        self.cores = cores
        self.memoryMB = memoryMB
        self.memoryMaxMB = memoryMaxMB
        self.diskMB = diskMB
        self.devices = devices
    }
}

/// Health of an allocation within a deployment, reported by the client.
public struct AllocationDeploymentStatus: Hashable, Codable, Sendable {
    /// Nil until decided; true once healthy for `min_healthy_time`.
    public var healthy: Bool?
    public var canary: Bool
    public var timestamp: Timestamp?

    public init(healthy: Bool? = nil, canary: Bool = false, timestamp: Timestamp? = nil) {
        self.healthy = healthy
        self.canary = canary
        self.timestamp = timestamp
    }
}

/// One instance of a group placed on a node.
public struct Allocation: Hashable, Codable, Sendable, Identifiable {
    public var id: AllocationID
    /// "job.group[index]".
    public var name: String
    /// The instance index within the group (0..<count).
    public var index: Int
    public var namespace: String
    public var jobID: String
    public var jobVersion: Int
    public var jobType: JobType
    /// The job's priority when placed (for preemption).
    public var jobPriority: Int
    public var group: String
    /// ``GroupSpec/fingerprint`` of the group it was placed for.
    public var groupFingerprint: UInt64
    public var nodeID: NodeID
    public var nodeName: String
    public var resources: AllocatedResources
    public var desiredStatus: DesiredStatus
    public var desiredDescription: String
    public var clientStatus: ClientStatus
    public var clientDescription: String
    public var taskStates: [String: TaskState]
    /// Earlier reschedules of this lineage, oldest first.
    public var rescheduleTracker: [RescheduleEvent]
    public var previousAllocation: AllocationID?
    public var nextAllocation: AllocationID?
    public var deploymentID: DeploymentID?
    public var deploymentStatus: AllocationDeploymentStatus?
    /// The allocation whose placement evicted this one.
    public var preemptedBy: AllocationID?
    public var createdAt: Timestamp
    public var modifiedAt: Timestamp
    /// When it became "unknown" because its node disconnected.
    public var disconnectedAt: Timestamp?
    /// The number of the last report of its node applied to it
    /// (``ClientAllocationUpdate/sequence``); older ones are ignored.
    public var clientSequence: UInt64?

    public init(id: AllocationID, name: String? = nil, index: Int = 0, namespace: String = "default",
                jobID: String, jobVersion: Int = 0, jobType: JobType = .service,
                jobPriority: Int = JobSpec.defaultPriority, group: String, groupFingerprint: UInt64 = 0,
                nodeID: NodeID, nodeName: String? = nil, resources: AllocatedResources,
                desiredStatus: DesiredStatus = .run, desiredDescription: String = "",
                clientStatus: ClientStatus = .pending, clientDescription: String = "",
                taskStates: [String: TaskState] = [:], rescheduleTracker: [RescheduleEvent] = [],
                previousAllocation: AllocationID? = nil, nextAllocation: AllocationID? = nil,
                deploymentID: DeploymentID? = nil, deploymentStatus: AllocationDeploymentStatus? = nil,
                preemptedBy: AllocationID? = nil, createdAt: Timestamp = .epoch, modifiedAt: Timestamp? = nil,
                disconnectedAt: Timestamp? = nil, clientSequence: UInt64? = nil) {
        self.id = id
        self.name = name ?? "\(jobID).\(group)[\(index)]"
        self.index = index
        self.namespace = namespace
        self.jobID = jobID
        self.jobVersion = jobVersion
        self.jobType = jobType
        self.jobPriority = jobPriority
        self.group = group
        self.groupFingerprint = groupFingerprint
        self.nodeID = nodeID
        self.nodeName = nodeName ?? nodeID.rawValue
        self.resources = resources
        self.desiredStatus = desiredStatus
        self.desiredDescription = desiredDescription
        self.clientStatus = clientStatus
        self.clientDescription = clientDescription
        self.taskStates = taskStates
        self.rescheduleTracker = rescheduleTracker
        self.previousAllocation = previousAllocation
        self.nextAllocation = nextAllocation
        self.deploymentID = deploymentID
        self.deploymentStatus = deploymentStatus
        self.preemptedBy = preemptedBy
        self.createdAt = createdAt
        self.modifiedAt = modifiedAt ?? createdAt
        self.disconnectedAt = disconnectedAt
        self.clientSequence = clientSequence
    }

    /// The job's identity.
    public var jobKey: JobKey { JobKey(namespace: namespace, id: jobID) }

    /// Whether it is finished or asked to finish: nothing more will run.
    public var isTerminal: Bool {
        desiredStatus != .run || clientStatus.isTerminal
    }

    /// Whether its resources count as used on its node: wanted running and
    /// not finished on the client.
    public var holdsResources: Bool {
        desiredStatus == .run && !clientStatus.isTerminal
    }
}

/// One allocation's status as its node observed it.
public struct ClientAllocationUpdate: Codable, Sendable, Hashable {
    public var allocationID: AllocationID
    public var clientStatus: ClientStatus
    public var clientDescription: String
    public var taskStates: [String: TaskState]
    /// When the node observed it (updates buffered while disconnected keep their time).
    public var observedAt: Timestamp
    /// The node's number for this report, increasing over the node's life
    /// (across its restarts). The servers apply a report only if its number
    /// is above that of the last report they applied for the allocation
    /// (``Allocation/clientSequence``): reports that arrive out of order,
    /// because a node sends several at once or sends one again after a
    /// failed call, cannot undo newer ones. Nil: unnumbered, always applied.
    public var sequence: UInt64?

    public init(allocationID: AllocationID, clientStatus: ClientStatus, clientDescription: String = "",
                taskStates: [String: TaskState] = [:], observedAt: Timestamp, sequence: UInt64? = nil) {
        self.allocationID = allocationID
        self.clientStatus = clientStatus
        self.clientDescription = clientDescription
        self.taskStates = taskStates
        self.observedAt = observedAt
        self.sequence = sequence
    }
}
