import Model

/// A snapshot of what the scheduler needs: nodes, allocations, deployments,
/// and indexes over them (allocations by node and by job, resource usage per
/// node, nodes by dataset).
///
/// A value type: the server keeps one in its replicated state machine and
/// updates it as Raft entries apply (``upsert(_:)-(Node)``, ``upsert(_:)-(Allocation)``,
/// ``apply(_:)``); handing it to the scheduler is an O(1) copy-on-write copy.
/// Every mutation keeps the indexes and usage current in O(1) (amortised).
public struct ClusterState: Sendable {
    /// Nodes in a stable order (insertion order, with swap-remove on removal).
    public private(set) var nodes: [Node] = []
    /// Usage per node, parallel to `nodes`.
    public private(set) var usage: [NodeUsage] = []
    /// Capacity (resources less reserve) per node, parallel to `nodes`.
    public private(set) var capacity: [NodeCapacity] = []
    private(set) var nodeIndexByID: [NodeID: Int] = [:]
    /// All allocations, terminal ones included until removed (garbage-collected).
    /// Sharded: every reader copies the state (see ``ShardedDictionary``).
    public private(set) var allocations: ShardedDictionary<AllocationID, Allocation> = [:]
    // The indexes are sharded too, as a copy of the state shares them: a
    // node's set can hold thousands of ids (``ShardedSet``), and the per-job
    // index has a key per job.
    private(set) var allocationsByNode: [NodeID: ShardedSet<AllocationID>] = [:]
    /// Per node, its allocations the client has not finished: what the node's
    /// allocation watch, preemption and device checks walk, while finished
    /// ones pile up in `allocationsByNode` until garbage-collected.
    private(set) var unfinishedByNode: [NodeID: ShardedSet<AllocationID>] = [:]
    /// Per node, how many of its unfinished allocations each job priority
    /// has: preemption skips a node whose lowest is not low enough without
    /// walking its allocations.
    private var unfinishedPriorities: [NodeID: [Int: Int]] = [:]
    private(set) var allocationsByJob: ShardedDictionary<JobKey, Set<AllocationID>> = [:]
    private(set) var nodesByDataset: [String: Set<NodeID>] = [:]
    /// The latest deployment of each job.
    public private(set) var deployments: [JobKey: Deployment] = [:]

    /// An empty cluster.
    public init() {}

    /// A cluster holding `nodes` and `allocations`.
    public init(nodes: [Node], allocations: [Allocation] = [], deployments: [Deployment] = []) {
        for node in nodes { upsert(node) }
        for allocation in allocations { upsert(allocation) }
        for deployment in deployments { upsert(deployment) }
    }

    // MARK: Queries

    /// The node with `id`.
    public func node(_ id: NodeID) -> Node? {
        nodeIndexByID[id].map { nodes[$0] }
    }

    /// The position of node `id` in ``nodes``.
    public func nodeIndex(_ id: NodeID) -> Int? {
        nodeIndexByID[id]
    }

    /// Usage of node `id`.
    public func usage(of id: NodeID) -> NodeUsage? {
        nodeIndexByID[id].map { usage[$0] }
    }

    /// The lowest job priority among the allocations clients have not
    /// finished (nil when there are none): what preemption could displace.
    public var lowestUnfinishedPriority: Int? {
        unfinishedPriorities.values.compactMap { $0.keys.min() }.min()
    }

    /// The lowest job priority among the unfinished allocations on node
    /// `id` (nil when there are none).
    public func lowestUnfinishedPriority(onNode id: NodeID) -> Int? {
        unfinishedPriorities[id]?.keys.min()
    }

    /// Allocations on node `id`, in id order.
    public func allocations(onNode id: NodeID) -> [Allocation] {
        (allocationsByNode[id] ?? []).sorted().compactMap { allocations[$0] }
    }

    /// Allocations on node `id` that its client has not finished (client
    /// status pending, running or unknown), in id order.
    public func unfinishedAllocations(onNode id: NodeID) -> [Allocation] {
        (unfinishedByNode[id] ?? []).sorted().compactMap { allocations[$0] }
    }

    /// Allocations of job `key`, in id order.
    public func allocations(ofJob key: JobKey) -> [Allocation] {
        (allocationsByJob[key] ?? []).sorted().compactMap { allocations[$0] }
    }

    /// Ids of allocations on node `id` its client has not finished
    /// (unordered): a superset of those holding resources there.
    func unfinishedAllocationIDs(onNode id: NodeID) -> ShardedSet<AllocationID> {
        unfinishedByNode[id] ?? []
    }

    /// Nodes advertising `dataset`.
    public func nodes(holding dataset: String) -> Set<NodeID> {
        nodesByDataset[dataset] ?? []
    }

    // MARK: Mutations

    /// Reserves room for `allocations` allocations and `nodes` nodes, to
    /// avoid rehashing while a large state is loaded (snapshot restore).
    public mutating func reserveCapacity(nodes nodeCount: Int = 0, allocations allocationCount: Int = 0) {
        nodes.reserveCapacity(nodeCount)
        usage.reserveCapacity(nodeCount)
        capacity.reserveCapacity(nodeCount)
        nodeIndexByID.reserveCapacity(nodeCount)
        allocations.reserveCapacity(allocationCount)
    }

    /// Adds or replaces a node.
    public mutating func upsert(_ node: Node) {
        if let i = nodeIndexByID[node.id] {
            let old = nodes[i]
            for name in old.datasets.keys where node.datasets[name] == nil {
                nodesByDataset[name]?.remove(old.id)
                if nodesByDataset[name]?.isEmpty == true { nodesByDataset[name] = nil }
            }
            nodes[i] = node
            capacity[i] = NodeCapacity(node)
        } else {
            nodeIndexByID[node.id] = nodes.count
            nodes.append(node)
            capacity.append(NodeCapacity(node))
            var u = NodeUsage()
            for id in allocationsByNode[node.id] ?? [] {
                if let a = allocations[id], a.holdsResources { u.add(a.resources) }
            }
            usage.append(u)
        }
        for name in node.datasets.keys {
            nodesByDataset[name, default: []].insert(node.id)
        }
    }

    /// Removes a node (its allocations stay, as lost ones do, until removed).
    public mutating func removeNode(_ id: NodeID) {
        guard let i = nodeIndexByID.removeValue(forKey: id) else { return }
        for name in nodes[i].datasets.keys {
            nodesByDataset[name]?.remove(id)
            if nodesByDataset[name]?.isEmpty == true { nodesByDataset[name] = nil }
        }
        let last = nodes.count - 1
        if i != last {
            nodes.swapAt(i, last)
            usage.swapAt(i, last)
            capacity.swapAt(i, last)
            nodeIndexByID[nodes[i].id] = i
        }
        nodes.removeLast()
        usage.removeLast()
        capacity.removeLast()
    }

    /// Adds or replaces an allocation, keeping indexes and usage current.
    public mutating func upsert(_ allocation: Allocation) {
        let old = allocations.updateValue(allocation, forKey: allocation.id)
        if let old {
            if old.holdsResources, let i = nodeIndexByID[old.nodeID] { usage[i].remove(old.resources) }
            if old.nodeID != allocation.nodeID { allocationsByNode[old.nodeID]?.remove(old.id) }
            if !old.clientStatus.isTerminal { removeUnfinished(old) }
        }
        if old?.nodeID != allocation.nodeID {
            allocationsByNode[allocation.nodeID, default: []].insert(allocation.id)
        }
        if !allocation.clientStatus.isTerminal { addUnfinished(allocation) }
        if old == nil {
            allocationsByJob[allocation.jobKey, default: []].insert(allocation.id)
        }
        if allocation.holdsResources, let i = nodeIndexByID[allocation.nodeID] {
            usage[i].add(allocation.resources)
        }
    }

    /// Removes an allocation (garbage collection of terminal ones).
    public mutating func removeAllocation(_ id: AllocationID) {
        guard let old = allocations.removeValue(forKey: id) else { return }
        if old.holdsResources, let i = nodeIndexByID[old.nodeID] { usage[i].remove(old.resources) }
        allocationsByNode[old.nodeID]?.remove(id)
        if allocationsByNode[old.nodeID]?.isEmpty == true { allocationsByNode[old.nodeID] = nil }
        removeUnfinished(old)
        allocationsByJob[old.jobKey]?.remove(id)
        if allocationsByJob[old.jobKey]?.isEmpty == true { allocationsByJob[old.jobKey] = nil }
    }

    private mutating func addUnfinished(_ allocation: Allocation) {
        guard unfinishedByNode[allocation.nodeID, default: []].insert(allocation.id).inserted else { return }
        unfinishedPriorities[allocation.nodeID, default: [:]][allocation.jobPriority, default: 0] += 1
    }

    /// `allocation` is the one stored: its priority is the one counted.
    private mutating func removeUnfinished(_ allocation: Allocation) {
        let node = allocation.nodeID
        guard unfinishedByNode[node]?.remove(allocation.id) != nil else { return }
        if unfinishedByNode[node]?.isEmpty == true { unfinishedByNode[node] = nil }
        let left = (unfinishedPriorities[node]?[allocation.jobPriority] ?? 1) - 1
        unfinishedPriorities[node]?[allocation.jobPriority] = left > 0 ? left : nil
        if unfinishedPriorities[node]?.isEmpty == true { unfinishedPriorities[node] = nil }
    }

    /// Records a deployment as its job's latest.
    public mutating func upsert(_ deployment: Deployment) {
        deployments[deployment.jobKey] = deployment
    }

    /// Applies a committed plan: placements and updates are stored, stops
    /// marked desired-stop (and lost where the plan says so), preemptions
    /// marked evicted, the deployment recorded.
    public mutating func apply(_ plan: Plan, at now: Timestamp? = nil) {
        for update in plan.updates { upsert(update) }
        for stop in plan.stops {
            guard var a = allocations[stop.allocationID] else { continue }
            a.desiredStatus = .stop
            a.desiredDescription = stop.reason
            if let status = stop.clientStatus { a.clientStatus = status }
            if let replacement = stop.replacement { a.nextAllocation = replacement }
            if let now { a.modifiedAt = now }
            upsert(a)
        }
        for preemption in plan.preemptions {
            guard var a = allocations[preemption.allocationID] else { continue }
            a.desiredStatus = .evict
            a.desiredDescription = "preempted by allocation \(preemption.preemptedBy)"
            a.preemptedBy = preemption.preemptedBy
            if let now { a.modifiedAt = now }
            upsert(a)
        }
        for placement in plan.placements { upsert(placement) }
        if let deployment = plan.deployment { upsert(deployment) }
    }
}
