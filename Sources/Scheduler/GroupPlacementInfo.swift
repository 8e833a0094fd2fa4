import Model

/// What placement needs to know of one group, compiled once per evaluation.
struct GroupPlacementInfo {
    let group: GroupSpec
    /// The group's position in the job, for per-group arrays.
    var ordinal = 0
    let ask: ResourceAsk
    let fingerprint: UInt64
    /// Node-property constraints of the job and the group.
    let constraints: [CompiledConstraint]
    /// distinct_hosts at job level (no two allocations of the job per node).
    let distinctHostsJob: Bool
    /// distinct_hosts at group level (no two allocations of the group per node).
    let distinctHostsGroup: Bool
    /// distinct_property constraints: attribute, allowed count, whether job-wide.
    let distinctProperties: [(attribute: String, limit: Int, jobWide: Bool)]
    let affinities: [(CompiledConstraint, weight: Int)]
    let affinityWeightSum: Int
    let spreads: [Spread]
    let drivers: [String]
    /// Datasets the group must run beside.
    let requiredDatasets: [String]
    /// Datasets whose bytes count toward data-locality ranking (required and preferred).
    let localDatasets: [String]

    init(job: JobSpec, group: GroupSpec) {
        self.group = group
        ask = ResourceAsk(group)
        fingerprint = group.fingerprint
        var constraints: [CompiledConstraint] = []
        var distinctProperties: [(String, Int, Bool)] = []
        var hostsJob = false, hostsGroup = false
        for (c, jobWide) in job.constraints.map({ ($0, true) }) + group.constraints.map({ ($0, false) }) {
            switch c.operator {
            case .distinctHosts:
                if jobWide { hostsJob = true } else { hostsGroup = true }
            case .distinctProperty:
                distinctProperties.append((c.attribute, max(1, Int(c.value) ?? 1), jobWide))
            default:
                constraints.append(CompiledConstraint(c))
            }
        }
        self.constraints = constraints
        distinctHostsJob = hostsJob
        distinctHostsGroup = hostsGroup
        self.distinctProperties = distinctProperties
        let all = job.affinities + group.affinities
        affinities = all.map { (CompiledConstraint($0.asConstraint), weight: $0.weight) }
        affinityWeightSum = all.reduce(0) { $0 + abs($1.weight) }
        spreads = job.spreads + group.spreads
        var drivers: [String] = []
        for task in group.tasks where !drivers.contains(task.driver) { drivers.append(task.driver) }
        self.drivers = drivers
        var required: [String] = [], local: [String] = []
        for input in group.inputs {
            guard let name = input.datasetName else { continue }
            if input.locality == .required, !required.contains(name) { required.append(name) }
            if input.locality != .anywhere, !local.contains(name) { local.append(name) }
        }
        requiredDatasets = required
        localDatasets = local
    }

    /// Why `node` can never take this group, or nil when it can (resources aside).
    func staticFilterReason(_ node: Node) -> String? {
        if node.status != .ready { return "node \(node.status.rawValue)" }
        if node.eligibility != .eligible { return "node ineligible" }
        if node.drain { return "node draining" }
        for driver in drivers {
            guard let info = node.drivers[driver], info.detected else { return "missing driver \(driver)" }
            if !info.healthy { return "unhealthy driver \(driver)" }
        }
        for c in constraints where !c.isMet(by: node) { return c.description }
        for name in requiredDatasets where node.datasets[name] == nil { return "missing dataset \(name)" }
        for request in ask.devices {
            var total = 0
            for g in node.resources.devices where g.matches(request.name) { total += g.instanceIDs.count }
            if total < request.count { return "missing devices \(request.name)" }
        }
        return nil
    }

    /// Bytes of the group's local datasets on `node`.
    func localBytes(on node: Node) -> Int64 {
        var bytes: Int64 = 0
        for name in localDatasets { bytes += node.datasets[name]?.sizeBytes ?? 0 }
        return bytes
    }
}
