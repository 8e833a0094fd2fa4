/// Where a rolling update is.
public enum DeploymentStatus: String, CaseIterable, Hashable, Codable, Sendable {
    case running
    case paused
    case successful
    case failed
    case cancelled

    /// Whether the deployment still progresses.
    public var isActive: Bool { self == .running || self == .paused }
}

/// Progress of one group in a deployment.
public struct DeploymentGroupState: Hashable, Codable, Sendable {
    public var autoRevert: Bool
    public var autoPromote: Bool
    /// Canaries were accepted: the rolling update may go on.
    public var promoted: Bool
    public var desiredCanaries: Int
    public var desiredTotal: Int
    public var placedCanaries: [AllocationID]
    public var placedAllocations: Int
    public var healthyAllocations: Int
    public var unhealthyAllocations: Int
    /// Fails the deployment when no allocation turned healthy by then.
    public var requireProgressBy: Timestamp?

    public init(autoRevert: Bool = false, autoPromote: Bool = false, promoted: Bool = false,
                desiredCanaries: Int = 0, desiredTotal: Int = 0, placedCanaries: [AllocationID] = [],
                placedAllocations: Int = 0, healthyAllocations: Int = 0, unhealthyAllocations: Int = 0,
                requireProgressBy: Timestamp? = nil) {
        self.autoRevert = autoRevert
        self.autoPromote = autoPromote
        self.promoted = promoted
        self.desiredCanaries = desiredCanaries
        self.desiredTotal = desiredTotal
        self.placedCanaries = placedCanaries
        self.placedAllocations = placedAllocations
        self.healthyAllocations = healthyAllocations
        self.unhealthyAllocations = unhealthyAllocations
        self.requireProgressBy = requireProgressBy
    }
}

/// A rolling update of a service job to one version.
public struct Deployment: Hashable, Codable, Sendable, Identifiable {
    public var id: DeploymentID
    public var namespace: String
    public var jobID: String
    public var jobVersion: Int
    public var status: DeploymentStatus
    public var statusDescription: String
    public var groups: [String: DeploymentGroupState]
    /// The version to go back to if this deployment fails and a group has
    /// `auto_revert` (the version the replaced allocations ran).
    public var revertVersion: Int?
    public var createdAt: Timestamp
    public var modifiedAt: Timestamp

    public init(id: DeploymentID, namespace: String = "default", jobID: String, jobVersion: Int,
                status: DeploymentStatus = .running, statusDescription: String = "",
                groups: [String: DeploymentGroupState] = [:], revertVersion: Int? = nil,
                createdAt: Timestamp = .epoch, modifiedAt: Timestamp? = nil) {
        self.id = id
        self.namespace = namespace
        self.jobID = jobID
        self.jobVersion = jobVersion
        self.status = status
        self.statusDescription = statusDescription
        self.groups = groups
        self.revertVersion = revertVersion
        self.createdAt = createdAt
        self.modifiedAt = modifiedAt ?? createdAt
    }

    public var jobKey: JobKey { JobKey(namespace: namespace, id: jobID) }
}
