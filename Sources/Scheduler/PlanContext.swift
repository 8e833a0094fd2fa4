import Model

/// The working state of one evaluation: the plan being built and the cluster
/// as the plan would leave it (usage, allocations per node), so that each
/// decision sees the ones before it.
final class PlanContext {
    let state: ClusterState
    let job: JobSpec
    let jobVersion: Int
    let evaluation: Evaluation
    let now: Timestamp
    let configuration: SchedulerConfiguration
    var rng: SeededGenerator
    var plan: Plan

    /// Usage per node index, with this plan's stops and placements applied.
    var usage: [NodeUsage]
    /// Allocations this plan stops or evicts.
    var released: Set<AllocationID> = []
    /// Live allocations of the job per node index, plan applied.
    var jobCountByNode: [Int32]
    /// Per group ordinal (position in the job), live allocations per node index, plan applied.
    var groupCountByNode: [[Int: Int]]
    private let groupOrdinals: [String: Int]
    /// Device instances given out by this plan, per node index.
    var plannedDevices: [Int: Set<String>] = [:]

    private var infos: [String: GroupPlacementInfo] = [:]
    /// Per group ordinal, per node index: 0 unknown, 1 feasible, k >= 2 reason k-2.
    private var feasibility: [[Int32]]
    private var reasons: [String] = []
    private var reasonCodes: [String: Int32] = [:]
    private var order: [Int] = []
    private var cursor = 0
    private var failedGroupIndex: [String: Int] = [:]
    private var spreadCounts: [String: [[String: Int]]] = [:]
    private var spreadValues: [String: [Set<String>]] = [:]
    private var maxLocalBytes: [String: Int64] = [:]
    private var requiredUniverse: [String: [Int]] = [:]
    private var inPool: [Bool] = []

    init(state: ClusterState, job: JobSpec, jobVersion: Int, evaluation: Evaluation, now: Timestamp,
         configuration: SchedulerConfiguration, rng: SeededGenerator) {
        self.state = state
        self.job = job
        self.jobVersion = jobVersion
        self.evaluation = evaluation
        self.now = now
        self.configuration = configuration
        self.rng = rng
        self.plan = Plan(evaluationID: evaluation.id, jobKey: job.key, jobVersion: jobVersion)
        self.usage = state.usage
        var ordinals: [String: Int] = [:]
        for (k, g) in job.groups.enumerated() where ordinals[g.name] == nil { ordinals[g.name] = k }
        groupOrdinals = ordinals
        feasibility = Array(repeating: [], count: job.groups.count)
        groupCountByNode = Array(repeating: [:], count: job.groups.count)
        jobCountByNode = Array(repeating: 0, count: state.nodes.count)
        for a in state.allocations(ofJob: job.key) where a.holdsResources {
            guard let i = state.nodeIndex(a.nodeID) else { continue }
            jobCountByNode[i] += 1
            if let g = ordinals[a.group] { groupCountByNode[g][i, default: 0] += 1 }
        }
    }

    func info(_ group: GroupSpec) -> GroupPlacementInfo {
        if let i = infos[group.name] { return i }
        var i = GroupPlacementInfo(job: job, group: group)
        i.ordinal = groupOrdinals[group.name] ?? 0
        infos[group.name] = i
        return i
    }

    func changes(_ group: String, _ update: (inout DesiredChanges) -> Void) {
        update(&plan.desiredChanges[group, default: DesiredChanges()])
    }

    // MARK: Stops

    /// Stops `allocation` in the plan and frees what it held.
    func stop(_ allocation: Allocation, reason: String, clientStatus: ClientStatus? = nil,
              replacement: AllocationID? = nil) {
        guard released.insert(allocation.id).inserted else { return }
        plan.stops.append(AllocationStop(allocationID: allocation.id, nodeID: allocation.nodeID, reason: reason,
                                         clientStatus: clientStatus, replacement: replacement))
        release(allocation)
    }

    private func release(_ allocation: Allocation) {
        guard allocation.holdsResources, let i = state.nodeIndex(allocation.nodeID) else { return }
        usage[i].remove(allocation.resources)
        if allocation.jobKey == job.key {
            jobCountByNode[i] -= 1
            if let g = groupOrdinals[allocation.group] { groupCountByNode[g][i, default: 1] -= 1 }
            adjustSpread(group: allocation.group, node: state.nodes[i], by: -1)
        }
    }

    /// Links a stop already in the plan to its replacement.
    func linkReplacement(of allocationID: AllocationID, to replacement: AllocationID) {
        if let k = plan.stops.lastIndex(where: { $0.allocationID == allocationID }) {
            plan.stops[k].replacement = replacement
        }
    }

    // MARK: Placement

    /// Places one allocation: picks a node (or preempts for room), records
    /// the allocation in the plan, and returns it; records a failure and
    /// returns nil when no node fits.
    @discardableResult
    func place(_ request: PlacementRequest, group: GroupSpec) -> Allocation? {
        let info = info(group)
        if let k = failedGroupIndex[group.name], request.node == nil {
            plan.failedPlacements[k].count += 1
            return nil
        }
        let id = newAllocationID()
        var chosen: Int?
        var explanation = PlacementExplanation()
        if let fixed = request.node {
            chosen = check(node: fixed, info: info, explanation: &explanation) ? fixed : nil
        } else {
            chosen = select(info: info, avoid: request.reschedule.flatMap { state.nodeIndex($0.previousNode) },
                            explanation: &explanation)
        }
        if chosen == nil, explanation.nodesExhausted > 0,
           configuration.preemptionEnabled.contains(job.type) {
            chosen = preempt(info: info, only: request.node, for: id)
        }
        guard let nodeIndex = chosen else {
            recordFailure(group: group.name, explanation: explanation)
            return nil
        }
        let allocation = makeAllocation(id: id, info: info, request: request, nodeIndex: nodeIndex)
        plan.placements.append(allocation)
        usage[nodeIndex].add(allocation.resources)
        jobCountByNode[nodeIndex] += 1
        groupCountByNode[info.ordinal][nodeIndex, default: 0] += 1
        adjustSpread(group: group.name, node: state.nodes[nodeIndex], by: 1)
        return allocation
    }

    private var issuedIDs: Set<AllocationID> = []

    /// A fresh allocation id from the seeded generator, never one already in
    /// the cluster or this plan (a reused seed must not overwrite allocations).
    func newAllocationID() -> AllocationID {
        while true {
            let id = AllocationID(rng.nextUUIDString())
            if state.allocations[id] == nil, issuedIDs.insert(id).inserted { return id }
        }
    }

    private func recordFailure(group: String, explanation: PlacementExplanation) {
        if let k = failedGroupIndex[group] {
            plan.failedPlacements[k].count += 1
            for (r, n) in explanation.filtered { plan.failedPlacements[k].explanation.filtered[r, default: 0] += n }
            for (r, n) in explanation.exhausted { plan.failedPlacements[k].explanation.exhausted[r, default: 0] += n }
            plan.failedPlacements[k].explanation.nodesEvaluated += explanation.nodesEvaluated
        } else {
            failedGroupIndex[group] = plan.failedPlacements.count
            plan.failedPlacements.append(FailedPlacement(group: group, count: 1, explanation: explanation))
        }
    }

    private func makeAllocation(id: AllocationID, info: GroupPlacementInfo, request: PlacementRequest,
                                nodeIndex: Int) -> Allocation {
        let node = state.nodes[nodeIndex]
        var resources = AllocatedResources(cpu: info.ask.effectiveCPU(state.capacity[nodeIndex]), cores: info.ask.cores,
                                           memoryMB: info.ask.memoryMB, memoryMaxMB: info.ask.memoryMaxMB,
                                           diskMB: info.ask.diskMB)
        if !info.ask.devices.isEmpty {
            resources.devices = assignDevices(info.ask.devices, nodeIndex: nodeIndex)
        }
        var tracker = request.previous?.rescheduleTracker ?? []
        if let event = request.reschedule { tracker.append(event) }
        var deploymentStatus: AllocationDeploymentStatus?
        if request.deploymentID != nil { deploymentStatus = AllocationDeploymentStatus(canary: request.canary) }
        return Allocation(
            id: id, index: request.index, namespace: job.namespace, jobID: job.id, jobVersion: jobVersion,
            jobType: job.type, jobPriority: job.priority, group: info.group.name,
            groupFingerprint: info.fingerprint, nodeID: node.id, nodeName: node.name, resources: resources,
            rescheduleTracker: tracker, previousAllocation: request.previous?.id,
            deploymentID: request.deploymentID, deploymentStatus: deploymentStatus, createdAt: now)
    }

    private func assignDevices(_ requests: [DeviceRequest], nodeIndex: Int) -> [AllocatedDevice] {
        let node = state.nodes[nodeIndex]
        var used = plannedDevices[nodeIndex] ?? []
        for id in state.unfinishedAllocationIDs(onNode: node.id) where !released.contains(id) {
            guard let a = state.allocations[id], a.holdsResources else { continue }
            for d in a.resources.devices { used.formUnion(d.instanceIDs) }
        }
        var out: [AllocatedDevice] = []
        for request in requests {
            var need = request.count
            for g in node.resources.devices where g.matches(request.name) && need > 0 {
                let free = g.instanceIDs.filter { !used.contains($0) }.prefix(need)
                guard !free.isEmpty else { continue }
                out.append(AllocatedDevice(group: g.id, instanceIDs: Array(free)))
                used.formUnion(free)
                need -= free.count
            }
        }
        plannedDevices[nodeIndex] = used
        return out
    }

    // MARK: Feasibility

    private func isInPool(_ i: Int) -> Bool {
        if job.datacenters.contains("*") { return true }
        if inPool.isEmpty {
            inPool = [Bool](repeating: false, count: state.nodes.count)
            for k in state.nodes.indices where datacenterMatches(state.nodes[k].datacenter, job.datacenters) {
                inPool[k] = true
            }
        }
        return inPool[i]
    }

    /// The static filter reason code of node `i` for the group (1: feasible).
    private func staticCode(_ i: Int, _ info: GroupPlacementInfo) -> Int32 {
        let g = info.ordinal
        if feasibility[g].isEmpty { feasibility[g] = [Int32](repeating: 0, count: state.nodes.count) }
        let cached = feasibility[g][i]
        if cached != 0 { return cached }
        var code: Int32 = 1
        if let reason = info.staticFilterReason(state.nodes[i]) {
            if let c = reasonCodes[reason] {
                code = c
            } else {
                code = Int32(reasons.count + 2)
                reasonCodes[reason] = code
                reasons.append(reason)
            }
        }
        feasibility[g][i] = code
        return code
    }

    /// Whether node `i` can take the group now: static filters, placement-wide
    /// constraints, room. Tallies the reason into `explanation` when not.
    func check(node i: Int, info: GroupPlacementInfo, explanation: inout PlacementExplanation) -> Bool {
        explanation.nodesEvaluated += 1
        let code = staticCode(i, info)
        if code != 1 {
            explanation.filtered[reasons[Int(code) - 2], default: 0] += 1
            return false
        }
        if let reason = dynamicFilterReason(i, info) {
            explanation.filtered[reason, default: 0] += 1
            return false
        }
        if let dimension = exhaustedDimension(state.capacity[i], usage: usage[i], ask: info.ask,
                                              devices: self.state.nodes[i].resources.devices) {
            explanation.exhausted[dimension, default: 0] += 1
            return false
        }
        return true
    }

    /// Whether node `i` passes static filters and placement-wide constraints
    /// (room aside).
    func isFeasibleIgnoringRoom(_ i: Int, _ info: GroupPlacementInfo) -> Bool {
        isInPool(i) && staticCode(i, info) == 1 && dynamicFilterReason(i, info) == nil
    }

    /// The reason of a static filter of node `i` (nil when it passes).
    func staticReason(_ i: Int, _ info: GroupPlacementInfo) -> String? {
        let code = staticCode(i, info)
        return code == 1 ? nil : reasons[Int(code) - 2]
    }

    private func dynamicFilterReason(_ i: Int, _ info: GroupPlacementInfo) -> String? {
        if info.distinctHostsJob, jobCountByNode[i] > 0 { return "distinct_hosts" }
        if info.distinctHostsGroup, (groupCountByNode[info.ordinal][i] ?? 0) > 0 { return "distinct_hosts" }
        for property in info.distinctProperties {
            guard let value = NodeProperties.resolve(property.attribute, on: state.nodes[i]) else {
                return "distinct_property \(property.attribute) unset"
            }
            if propertyCount(property.attribute, value: value, group: property.jobWide ? nil : info.ordinal)
                >= property.limit {
                return "distinct_property \(property.attribute)"
            }
        }
        return nil
    }

    private func propertyCount(_ attribute: String, value: String, group: Int?) -> Int {
        var n = 0
        let target = PropertyTarget(attribute)
        if let group {
            for (i, c) in groupCountByNode[group] where c > 0 {
                if target.resolve(on: state.nodes[i]) == value { n += c }
            }
        } else {
            for (i, c) in jobCountByNode.enumerated() where c > 0 {
                if target.resolve(on: state.nodes[i]) == value { n += Int(c) }
            }
        }
        return n
    }

    // MARK: Selection

    private func ensureOrder() {
        guard order.isEmpty, !state.nodes.isEmpty else { return }
        order = Array(0..<state.nodes.count)
        order.shuffle(using: &rng)
    }

    /// Feasible candidates ranked per placement: every node when the group
    /// has affinities or spreads (their scores need the whole pool); for
    /// batch jobs `batchCandidates` (power of two choices); for the others
    /// `serviceCandidates`, or by default ceil(log2(node count)), at least 2.
    func candidateLimit(_ info: GroupPlacementInfo) -> Int {
        let n = state.nodes.count
        if !info.affinities.isEmpty || !info.spreads.isEmpty { return n }
        switch job.type {
        case .batch, .sysbatch:
            return max(1, configuration.batchCandidates)
        case .service, .system:
            if let fixed = configuration.serviceCandidates { return max(1, fixed) }
            var log2 = 0
            while (1 << log2) < n { log2 += 1 }
            return max(2, log2)
        }
    }

    /// Nodes holding every required dataset, in a seeded order.
    private func universe(requiredBy info: GroupPlacementInfo) -> [Int] {
        if let u = requiredUniverse[info.group.name] { return u }
        var sets = info.requiredDatasets.map { state.nodes(holding: $0) }
        sets.sort { $0.count < $1.count }
        var u = sets.first.map { first in
            first.filter { id in sets.dropFirst().allSatisfy { $0.contains(id) } }.compactMap { state.nodeIndex($0) }
        } ?? []
        u.sort()
        u.shuffle(using: &rng)
        requiredUniverse[info.group.name] = u
        return u
    }

    /// Feasible nodes ranked so far, over all placements of this plan (the
    /// sample sizes of ``candidateLimit(_:)``, made observable).
    private(set) var candidatesRanked = 0

    /// Picks the best node among sampled feasible candidates, or nil: walks
    /// the nodes in a seeded order (where the last placement stopped),
    /// skipping infeasible ones, and ranks the first ``candidateLimit(_:)``
    /// feasible ones; with none found by then, walks on until one is, so a
    /// placement fails only when no node in the pool fits.
    private func select(info: GroupPlacementInfo, avoid: Int?, explanation: inout PlacementExplanation) -> Int? {
        let n = state.nodes.count
        guard n > 0 else { return nil }
        ensureOrder()
        let limit = candidateLimit(info)
        var best: (index: Int, score: Double)?
        var found = 0
        func consider(_ i: Int) {
            guard check(node: i, info: info, explanation: &explanation) else { return }
            found += 1
            candidatesRanked += 1
            let s = score(i, info: info, avoid: avoid)
            if best == nil || s > best!.score { best = (i, s) }
        }
        if !info.requiredDatasets.isEmpty {
            let u = universe(requiredBy: info)
            let poolCount = (0..<n).reduce(0) { $0 + (isInPool($1) ? 1 : 0) }
            explanation.nodesInPool = poolCount
            let missing = poolCount - u.filter(isInPool).count
            if missing > 0 {
                let names = info.requiredDatasets.joined(separator: ", ")
                explanation.filtered["missing dataset \(names)", default: 0] += missing
            }
            for i in u where isInPool(i) {
                consider(i)
                if found >= limit && info.localDatasets.count == info.requiredDatasets.count { break }
            }
            return best?.index
        }
        // Data-local candidates first: the nodes holding the group's datasets.
        if !info.localDatasets.isEmpty {
            for i in localCandidates(info) where isInPool(i) { consider(i) }
        }
        var visited = 0
        while visited < n && (found < limit || best == nil) {
            let i = order[cursor]
            cursor = cursor + 1 == n ? 0 : cursor + 1
            visited += 1
            guard isInPool(i) else { continue }
            consider(i)
        }
        if best == nil {
            explanation.nodesInPool = (0..<n).reduce(0) { $0 + (isInPool($1) ? 1 : 0) }
        }
        return best?.index
    }

    private func localCandidates(_ info: GroupPlacementInfo) -> [Int] {
        var ids = Set<NodeID>()
        for name in info.localDatasets { ids.formUnion(state.nodes(holding: name)) }
        var list = ids.compactMap { state.nodeIndex($0) }.map { ($0, info.localBytes(on: state.nodes[$0])) }
        list.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
        return list.prefix(configuration.maxDataLocalCandidates).map(\.0)
    }

    // MARK: Ranking

    /// The score of node `i` for the group: the average of binpack (or spread)
    /// fit, job anti-affinity, reschedule penalty, affinities, spreads and
    /// (weighted) data locality, each in -1…1.
    func score(_ i: Int, info: GroupPlacementInfo, avoid: Int?) -> Double {
        let cap = state.capacity[i]
        let u = usage[i]
        var sum = 0.0, weights = 0.0
        let totalCPU = Double(max(1, cap.cpu))
        let totalMem = Double(max(1, cap.memoryMB))
        let freeCPU = 1 - Double(u.cpu + info.ask.effectiveCPU(cap)) / totalCPU
        let freeMem = 1 - Double(u.memoryMB + info.ask.memoryMB) / totalMem
        let total = pow10(freeCPU) + pow10(freeMem)
        let fit = configuration.algorithm == .binpack ? 20 - total : total - 2
        sum += min(18, max(0, fit)) / 18
        weights += 1
        let collisions = groupCountByNode[info.ordinal][i] ?? 0
        if collisions > 0 {
            sum += -Double(collisions + 1) / Double(max(1, info.group.count))
            weights += 1
        }
        if let avoid, avoid == i {
            sum += -1
            weights += 1
        }
        guard !info.affinities.isEmpty || !info.spreads.isEmpty || !info.localDatasets.isEmpty else {
            return sum / weights
        }
        let node = state.nodes[i]
        if !info.affinities.isEmpty, info.affinityWeightSum > 0 {
            var matched = 0
            for (c, w) in info.affinities where c.isMet(by: node) { matched += w }
            sum += Double(matched) / Double(info.affinityWeightSum)
            weights += 1
        }
        if !info.spreads.isEmpty {
            sum += spreadScore(node: node, info: info)
            weights += 1
        }
        if !info.localDatasets.isEmpty {
            let maxBytes = maxLocal(info)
            if maxBytes > 0 {
                let w = configuration.dataLocalityWeight
                sum += w * Double(info.localBytes(on: node)) / Double(maxBytes)
                weights += w
            }
        }
        return sum / weights
    }

    private func maxLocal(_ info: GroupPlacementInfo) -> Int64 {
        if let m = maxLocalBytes[info.group.name] { return m }
        var ids = Set<NodeID>()
        for name in info.localDatasets { ids.formUnion(state.nodes(holding: name)) }
        let m = ids.compactMap { state.node($0) }.map { info.localBytes(on: $0) }.max() ?? 0
        maxLocalBytes[info.group.name] = m
        return m
    }

    private func ensureSpreadState(_ info: GroupPlacementInfo) {
        let name = info.group.name
        guard spreadCounts[name] == nil else { return }
        var counts: [[String: Int]] = Array(repeating: [:], count: info.spreads.count)
        var values: [Set<String>] = Array(repeating: [], count: info.spreads.count)
        for (s, spread) in info.spreads.enumerated() {
            for (i, node) in state.nodes.enumerated() where isInPool(i) {
                if let v = NodeProperties.resolve(spread.attribute, on: node) { values[s].insert(v) }
            }
            for (i, c) in groupCountByNode[info.ordinal] where c > 0 {
                if let v = NodeProperties.resolve(spread.attribute, on: state.nodes[i]) { counts[s][v, default: 0] += c }
            }
        }
        spreadCounts[name] = counts
        spreadValues[name] = values
    }

    private func adjustSpread(group: String, node: Node, by delta: Int) {
        guard var counts = spreadCounts[group], let info = infos[group] else { return }
        for (s, spread) in info.spreads.enumerated() {
            if let v = NodeProperties.resolve(spread.attribute, on: node) { counts[s][v, default: 0] += delta }
        }
        spreadCounts[group] = counts
    }

    private func spreadScore(node: Node, info: GroupPlacementInfo) -> Double {
        ensureSpreadState(info)
        let counts = spreadCounts[info.group.name]!, values = spreadValues[info.group.name]!
        var sum = 0.0, weights = 0.0
        let total = Double(max(1, info.group.count))
        for (s, spread) in info.spreads.enumerated() {
            let w = Double(max(1, spread.weight))
            weights += w
            guard let v = NodeProperties.resolve(spread.attribute, on: node) else {
                sum -= w
                continue
            }
            let desired: Double
            if spread.targets.isEmpty {
                desired = total / Double(max(1, values[s].count))
            } else if let t = spread.targets.first(where: { $0.value == v }) {
                desired = total * Double(t.percent) / 100
            } else {
                let rest = 100 - spread.targets.reduce(0) { $0 + $1.percent }
                let others = max(1, values[s].subtracting(spread.targets.map(\.value)).count)
                desired = total * Double(rest) / 100 / Double(others)
            }
            let used = Double(counts[s][v] ?? 0) + 1
            let boost = desired > 0 ? min(1, max(-1, (desired - used) / desired)) : -1
            sum += w * boost
        }
        return weights > 0 ? sum / weights : 0
    }

    // MARK: Preemption

    /// Finds a node where evicting allocations of jobs at least
    /// `preemptionPriorityDelta` lower in priority makes room, records the
    /// evictions, and returns the node; nil when none does.
    private func preempt(info: GroupPlacementInfo, only: Int?, for newID: AllocationID) -> Int? {
        let maxPriority = job.priority - configuration.preemptionPriorityDelta
        guard maxPriority >= 1 else { return nil }
        ensureOrder()
        var best: (index: Int, victims: [Allocation], cost: (Int, Int, Int))?
        let candidates = only.map { [$0] } ?? order
        for i in candidates where isFeasibleIgnoringRoom(i, info) {
            let node = state.nodes[i]
            guard let lowest = state.lowestUnfinishedPriority(onNode: node.id), lowest <= maxPriority else { continue }
            var evictable: [Allocation] = []
            for id in state.unfinishedAllocationIDs(onNode: node.id) where !released.contains(id) {
                guard let a = state.allocations[id], a.holdsResources, a.jobKey != job.key,
                      a.jobPriority <= maxPriority else { continue }
                evictable.append(a)
            }
            guard !evictable.isEmpty else { continue }
            evictable.sort {
                ($0.jobPriority, -$0.resources.memoryMB, $0.id) < ($1.jobPriority, -$1.resources.memoryMB, $1.id)
            }
            var u = usage[i]
            var victims: [Allocation] = []
            for a in evictable {
                u.remove(a.resources)
                victims.append(a)
                if exhaustedDimension(state.capacity[i], usage: u, ask: info.ask, devices: node.resources.devices) == nil { break }
            }
            guard exhaustedDimension(state.capacity[i], usage: u, ask: info.ask, devices: node.resources.devices) == nil else { continue }
            let cost = (victims.map(\.jobPriority).max() ?? 0, victims.count,
                        victims.reduce(0) { $0 + $1.resources.memoryMB })
            if best == nil || cost < best!.cost { best = (i, victims, cost) }
        }
        guard let best else { return nil }
        for victim in best.victims {
            released.insert(victim.id)
            plan.preemptions.append(Preemption(allocationID: victim.id, nodeID: victim.nodeID,
                                               jobKey: victim.jobKey, jobPriority: victim.jobPriority,
                                               preemptedBy: newID))
            usage[best.index].remove(victim.resources)
            changes(info.group.name) { $0.preempt += 1 }
        }
        return best.index
    }
}
