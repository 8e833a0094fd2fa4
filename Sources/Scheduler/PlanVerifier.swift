import Model

/// What the plan applier found when it checked a plan against the latest state.
public struct PlanVerdict: Sendable, Hashable {
    /// The plan with placements on nodes that no longer take them removed.
    public var accepted: Plan
    /// Nodes whose placements were refused, with why.
    public var refusedNodes: [NodeID: String]

    /// Whether the plan was accepted whole.
    public var isComplete: Bool { refusedNodes.isEmpty }
}

/// Re-checks a plan made on an older snapshot against the latest state, as
/// Nomad's plan applier does: several workers plan concurrently, so two plans
/// may each fit alone and over-commit a node together. Per node, the
/// placements of the plan (less what its stops and preemptions free) must
/// still fit the node's capacity, and the node must still take work.
/// Placements on a node that fails are all removed from the plan; the rest is
/// committed, and the evaluation is scheduled again for what was refused.
public enum PlanVerifier {
    public static func verify(_ plan: Plan, against state: ClusterState) -> PlanVerdict {
        verify(plan, against: state, adding: [:])
    }

    /// `verify`, counting `inFlight` usage per node on top of the state's.
    static func verify(_ plan: Plan, against state: ClusterState, adding inFlight: [NodeID: NodeUsage]) -> PlanVerdict {
        var refused: [NodeID: String] = [:]
        let placementsByNode = Dictionary(grouping: plan.placements, by: \.nodeID)
        guard !placementsByNode.isEmpty else { return PlanVerdict(accepted: plan, refusedNodes: [:]) }

        var freed: [NodeID: NodeUsage] = [:]
        func free(_ id: AllocationID) {
            guard let a = state.allocations[id], a.holdsResources else { return }
            freed[a.nodeID, default: NodeUsage()].add(a.resources)
        }
        for stop in plan.stops { free(stop.allocationID) }
        for preemption in plan.preemptions { free(preemption.allocationID) }
        // An in-place update replaces the allocation's old resources with its new ones.
        var updated: [NodeID: (old: NodeUsage, new: NodeUsage)] = [:]
        for update in plan.updates {
            guard let old = state.allocations[update.id] else { continue }
            if old.holdsResources { updated[old.nodeID, default: (NodeUsage(), NodeUsage())].old.add(old.resources) }
            if update.holdsResources { updated[update.nodeID, default: (NodeUsage(), NodeUsage())].new.add(update.resources) }
        }

        for (nodeID, placements) in placementsByNode {
            guard let i = state.nodeIndex(nodeID) else {
                refused[nodeID] = "node \(nodeID) is no longer registered"
                continue
            }
            let node = state.nodes[i]
            guard node.isSchedulable else {
                refused[nodeID] = "node \(node.name) no longer takes work (status \(node.status.rawValue), eligibility \(node.eligibility.rawValue)\(node.drain ? ", draining" : ""))"
                continue
            }
            var usage = state.usage[i]
            if let f = freed[nodeID] { usage.remove(f) }
            if let u = updated[nodeID] { usage.remove(u.old); usage.add(u.new) }
            if let pending = inFlight[nodeID] { usage.add(pending) }
            for p in placements where p.holdsResources { usage.add(p.resources) }
            if let dimension = overcommitted(usage, capacity: state.capacity[i], node: node) {
                refused[nodeID] = "node \(node.name) would be over-committed on \(dimension)"
            } else if let taken = sharedDevice(placements, on: nodeID, plan: plan, state: state) {
                refused[nodeID] = "node \(node.name) would give device \(taken) to two allocations"
            }
        }
        guard !refused.isEmpty else { return PlanVerdict(accepted: plan, refusedNodes: [:]) }
        var accepted = plan
        accepted.placements.removeAll { refused[$0.nodeID] != nil }
        // Stops that made room for refused placements (replacements) are kept:
        // the next evaluation places their replacements elsewhere.
        accepted.preemptions.removeAll { p in
            plan.placements.contains { $0.id == p.preemptedBy && refused[$0.nodeID] != nil }
        }
        return PlanVerdict(accepted: accepted, refusedNodes: refused)
    }

    /// A device instance a placement asks for that another allocation on the
    /// node holds (counts alone miss two plans picking the same instance).
    private static func sharedDevice(_ placements: [Allocation], on nodeID: NodeID, plan: Plan, state: ClusterState) -> String? {
        guard placements.contains(where: { !$0.resources.devices.isEmpty }) else { return nil }
        let released = Set(plan.stops.map(\.allocationID) + plan.preemptions.map(\.allocationID) + plan.updates.map(\.id))
        var held: Set<String> = []
        for a in state.unfinishedAllocations(onNode: nodeID) where a.holdsResources && !released.contains(a.id) {
            for d in a.resources.devices { for id in d.instanceIDs { held.insert(d.group + "/" + id) } }
        }
        for u in plan.updates where u.nodeID == nodeID && u.holdsResources {
            for d in u.resources.devices { for id in d.instanceIDs { held.insert(d.group + "/" + id) } }
        }
        for p in placements where p.holdsResources {
            for d in p.resources.devices {
                for id in d.instanceIDs where !held.insert(d.group + "/" + id).inserted { return "\(d.group) \(id)" }
            }
        }
        return nil
    }

    private static func overcommitted(_ usage: NodeUsage, capacity: NodeCapacity, node: Node) -> String? {
        if usage.cores > max(capacity.cores, 0) && usage.cores > 0 { return "cores" }
        if usage.cpu > capacity.cpu { return "cpu" }
        if usage.memoryMB > capacity.memoryMB { return "memory" }
        if usage.diskMB > 0, usage.diskMB > capacity.diskMB { return "disk" }
        for (group, used) in usage.devices {
            let total = node.resources.devices.first { $0.id == group }?.instanceIDs.count ?? 0
            if used > total { return "devices \(group)" }
        }
        return nil
    }
}

extension NodeUsage {
    fileprivate mutating func add(_ other: NodeUsage) { combine(other, sign: 1) }
    fileprivate mutating func remove(_ other: NodeUsage) { combine(other, sign: -1) }

    private mutating func combine(_ other: NodeUsage, sign: Int) {
        cpu += sign * other.cpu
        cores += sign * other.cores
        memoryMB += sign * other.memoryMB
        diskMB += sign * other.diskMB
        for (group, n) in other.devices {
            let total = (devices[group] ?? 0) + sign * n
            devices[group] = total == 0 ? nil : total
        }
    }
}

/// The leader's plans that were verified and proposed but are not yet
/// applied: the next plan is verified against the state *and* these, so
/// that plans may be committed back to back (pipelined) without two of them
/// over-committing a node, as Nomad's plan applier does with its
/// optimistic state. A pure value; the leader keeps one.
///
/// Between a plan's apply and its release it is counted twice, which only
/// errs on the side of refusing (the evaluation is then planned again).
public struct InFlightPlans: Sendable {
    private var placements: [UInt64: [NodeID: NodeUsage]] = [:]
    private var nextTicket: UInt64 = 0

    public init() {}

    /// Plans proposed and not yet released.
    public var count: Int { placements.count }

    /// Verifies `plan` against `state` plus the plans in flight, and counts
    /// what it accepts as in flight until ``release(_:)`` of the ticket.
    public mutating func admit(_ plan: Plan, against state: ClusterState) -> (verdict: PlanVerdict, ticket: UInt64) {
        var pending: [NodeID: NodeUsage] = [:]
        for byNode in placements.values {
            for (node, usage) in byNode { pending[node, default: NodeUsage()].add(usage) }
        }
        let verdict = PlanVerifier.verify(plan, against: state, adding: pending)
        var mine: [NodeID: NodeUsage] = [:]
        for p in verdict.accepted.placements where p.holdsResources { mine[p.nodeID, default: NodeUsage()].add(p.resources) }
        nextTicket += 1
        if !mine.isEmpty { placements[nextTicket] = mine }
        return (verdict, nextTicket)
    }

    /// The plan of `ticket` was applied, or will never be.
    public mutating func release(_ ticket: UInt64) {
        placements[ticket] = nil
    }

    /// Whether a plan admitted before `ticket` still holds resources in flight.
    public func holdsAny(before ticket: UInt64) -> Bool {
        placements.keys.contains { $0 < ticket }
    }
}
