/// Why nodes were passed over for one placement: counts per reason, so an
/// operator reads "3 nodes filtered by constraint ${attr.os} = windows;
/// 2 nodes exhausted memory".
public struct PlacementExplanation: Hashable, Codable, Sendable, CustomStringConvertible {
    /// Nodes looked at.
    public var nodesEvaluated: Int
    /// Nodes in the job's datacenters (and pool) at all.
    public var nodesInPool: Int
    /// Nodes ruled out by a property (status, driver, constraint, dataset), by reason.
    public var filtered: [String: Int]
    /// Nodes that fit by their properties but lacked room, by exhausted dimension.
    public var exhausted: [String: Int]

    public init(nodesEvaluated: Int = 0, nodesInPool: Int = 0, filtered: [String: Int] = [:],
                exhausted: [String: Int] = [:]) {
        self.nodesEvaluated = nodesEvaluated
        self.nodesInPool = nodesInPool
        self.filtered = filtered
        self.exhausted = exhausted
    }

    /// Nodes ruled out by properties.
    public var nodesFiltered: Int { filtered.values.reduce(0, +) }
    /// Nodes ruled out for lack of room.
    public var nodesExhausted: Int { exhausted.values.reduce(0, +) }

    /// "3 nodes filtered by constraint ${attr.os} = windows; 2 nodes exhausted memory".
    public var description: String {
        var parts: [String] = []
        func nodes(_ n: Int) -> String { n == 1 ? "1 node" : "\(n) nodes" }
        for (reason, n) in filtered.sorted(by: { ($1.value, $0.key) < ($0.value, $1.key) }) {
            parts.append("\(nodes(n)) filtered by \(reason)")
        }
        for (dimension, n) in exhausted.sorted(by: { ($1.value, $0.key) < ($0.value, $1.key) }) {
            parts.append("\(nodes(n)) exhausted \(dimension)")
        }
        if parts.isEmpty {
            return nodesInPool == 0 ? "no nodes in the job's datacenters" : "no node was evaluated"
        }
        return parts.joined(separator: "; ")
    }
}

/// Allocations of one group that could not be placed.
public struct FailedPlacement: Hashable, Codable, Sendable, CustomStringConvertible {
    public var group: String
    /// How many allocations failed for the same reasons.
    public var count: Int
    public var explanation: PlacementExplanation

    public init(group: String, count: Int, explanation: PlacementExplanation) {
        self.group = group
        self.count = count
        self.explanation = explanation
    }

    public var description: String {
        "group \"\(group)\": \(count) allocation\(count == 1 ? "" : "s") not placed: \(explanation)"
    }
}

/// An allocation the plan stops.
public struct AllocationStop: Hashable, Codable, Sendable {
    public var allocationID: AllocationID
    public var nodeID: NodeID
    /// Why: "node down", "job stopped", "replaced by version 3", ...
    public var reason: String
    /// A client status the servers set at once (lost for allocations of lost nodes).
    public var clientStatus: ClientStatus?
    /// Set when the stopped allocation was replaced.
    public var replacement: AllocationID?

    public init(allocationID: AllocationID, nodeID: NodeID, reason: String, clientStatus: ClientStatus? = nil,
                replacement: AllocationID? = nil) {
        self.allocationID = allocationID
        self.nodeID = nodeID
        self.reason = reason
        self.clientStatus = clientStatus
        self.replacement = replacement
    }
}

/// An allocation of a lower-priority job evicted to make room.
public struct Preemption: Hashable, Codable, Sendable {
    public var allocationID: AllocationID
    public var nodeID: NodeID
    public var jobKey: JobKey
    public var jobPriority: Int
    /// The placement that needed the room.
    public var preemptedBy: AllocationID

    public init(allocationID: AllocationID, nodeID: NodeID, jobKey: JobKey, jobPriority: Int,
                preemptedBy: AllocationID) {
        self.allocationID = allocationID
        self.nodeID = nodeID
        self.jobKey = jobKey
        self.jobPriority = jobPriority
        self.preemptedBy = preemptedBy
    }
}

/// Counts of what the plan does to one group, for `caravan job plan` style output.
public struct DesiredChanges: Hashable, Codable, Sendable {
    public var place = 0
    public var stop = 0
    public var inPlaceUpdate = 0
    public var destructiveUpdate = 0
    public var migrate = 0
    public var canary = 0
    public var ignore = 0
    public var preempt = 0
    public var lost = 0
    public var disconnect = 0
    public var reconnect = 0
    public var reschedule = 0

    public init() {}
}

/// What the scheduler decided for one evaluation. The server commits it
/// through Raft: new allocations, changed allocations, stops and evictions,
/// deployment changes, and evaluations to run later.
public struct Plan: Hashable, Codable, Sendable {
    public var evaluationID: EvaluationID
    public var jobKey: JobKey
    /// The job version the plan was made for; nil when the job is gone.
    public var jobVersion: Int?
    /// New allocations.
    public var placements: [Allocation]
    /// Existing allocations changed in place: new job version, "unknown" on
    /// disconnect, links to replacements, deployment health.
    public var updates: [Allocation]
    /// Allocations to stop.
    public var stops: [AllocationStop]
    /// Allocations of other, lower-priority jobs to evict for placements.
    public var preemptions: [Preemption]
    /// Allocations that could not be placed, with why.
    public var failedPlacements: [FailedPlacement]
    /// A deployment created or changed by this plan.
    public var deployment: Deployment?
    /// When a failed deployment asks to go back: the job version to re-register.
    public var revertToJobVersion: Int?
    /// Evaluations to run at a later time (delayed reschedules, disconnect timeouts).
    public var followUpEvaluations: [Evaluation]
    /// An evaluation to hold until capacity changes, when placements failed.
    public var blockedEvaluation: Evaluation?
    /// Per group, counts of the changes.
    public var desiredChanges: [String: DesiredChanges]

    public init(evaluationID: EvaluationID, jobKey: JobKey, jobVersion: Int? = nil, placements: [Allocation] = [],
                updates: [Allocation] = [], stops: [AllocationStop] = [], preemptions: [Preemption] = [],
                failedPlacements: [FailedPlacement] = [], deployment: Deployment? = nil,
                revertToJobVersion: Int? = nil, followUpEvaluations: [Evaluation] = [],
                blockedEvaluation: Evaluation? = nil, desiredChanges: [String: DesiredChanges] = [:]) {
        self.evaluationID = evaluationID
        self.jobKey = jobKey
        self.jobVersion = jobVersion
        self.placements = placements
        self.updates = updates
        self.stops = stops
        self.preemptions = preemptions
        self.failedPlacements = failedPlacements
        self.deployment = deployment
        self.revertToJobVersion = revertToJobVersion
        self.followUpEvaluations = followUpEvaluations
        self.blockedEvaluation = blockedEvaluation
        self.desiredChanges = desiredChanges
    }

    /// Whether the plan changes nothing in the cluster.
    public var isNoOp: Bool {
        placements.isEmpty && updates.isEmpty && stops.isEmpty && preemptions.isEmpty && deployment == nil
            && revertToJobVersion == nil && followUpEvaluations.isEmpty
    }
}
