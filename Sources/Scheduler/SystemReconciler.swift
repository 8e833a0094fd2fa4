import Model

/// Reconciles system and sysbatch jobs: one allocation per group on every
/// eligible, feasible node (new nodes included, since the server evaluates
/// system jobs when a node registers). Sysbatch allocations that finished
/// at this version are not run again. Nothing moves between nodes: lost
/// allocations are not replaced elsewhere.
struct SystemReconciler {
    let context: PlanContext
    var job: JobSpec { context.job }
    var version: Int { context.jobVersion }
    var now: Timestamp { context.now }
    var state: ClusterState { context.state }

    func run() {
        let all = state.allocations(ofJob: job.key).filter { $0.desiredStatus == .run }
        var byGroupNode: [String: [NodeID: [Allocation]]] = [:]
        for a in all { byGroupNode[a.group, default: [:]][a.nodeID, default: []].append(a) }
        for (name, byNode) in byGroupNode.sorted(by: { $0.key < $1.key }) where job.group(named: name) == nil {
            for (_, allocs) in byNode.sorted(by: { $0.key < $1.key }) {
                for a in allocs where !a.clientStatus.isTerminal || a.clientStatus == .unknown {
                    context.stop(a, reason: "group \(name) removed from job")
                    context.changes(name) { $0.stop += 1 }
                }
            }
        }
        for group in job.groups {
            reconcile(group: group, byNode: byGroupNode[group.name] ?? [:])
        }
    }

    private func reconcile(group: GroupSpec, byNode: [NodeID: [Allocation]]) {
        let info = context.info(group)
        let name = group.name
        var updateBudget = group.update.map { $0.maxParallel > 0 ? $0.maxParallel : Int.max } ?? Int.max
        // Allocations on nodes that no longer exist.
        for (nodeID, allocs) in byNode.sorted(by: { $0.key < $1.key }) where state.node(nodeID) == nil {
            for a in allocs where !a.clientStatus.isTerminal || a.clientStatus == .unknown {
                context.stop(a, reason: "node removed", clientStatus: .lost)
                context.changes(name) { $0.lost += 1 }
            }
        }
        guard group.count > 0 else {
            for (_, allocs) in byNode.sorted(by: { $0.key < $1.key }) {
                for a in allocs where !a.isTerminal {
                    context.stop(a, reason: "count is 0")
                    context.changes(name) { $0.stop += 1 }
                }
            }
            return
        }
        for (i, node) in state.nodes.enumerated() {
            let allocs = (byNode[node.id] ?? []).sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
            var running: [Allocation] = []
            var finishedThisVersion = false
            var failedThisVersion = false
            for a in allocs {
                switch AllocationDisposition.of(a, group: group, state: state, now: now) {
                case .running:
                    running.append(a)
                case .reconnecting:
                    var updated = a
                    updated.clientStatus = .running
                    updated.clientDescription = "node reconnected"
                    updated.disconnectedAt = nil
                    updated.modifiedAt = now
                    context.plan.updates.append(updated)
                    context.changes(name) { $0.reconnect += 1 }
                    running.append(updated)
                case .unknown(let since, let expiry):
                    if a.clientStatus != .unknown {
                        var updated = a
                        updated.clientStatus = .unknown
                        updated.clientDescription = "node disconnected"
                        updated.disconnectedAt = since
                        updated.modifiedAt = now
                        context.plan.updates.append(updated)
                        context.changes(name) { $0.disconnect += 1 }
                    }
                    followUp(at: expiry)
                    running.append(a)
                case .lost(let reason):
                    context.stop(a, reason: reason, clientStatus: .lost)
                    context.changes(name) { $0.lost += 1 }
                case .migrate:
                    context.stop(a, reason: "node draining")
                    context.changes(name) { $0.migrate += 1 }
                case .complete:
                    if a.jobVersion == version || job.type == .sysbatch && a.groupFingerprint == info.fingerprint {
                        finishedThisVersion = true
                    }
                case .failed:
                    if a.jobVersion == version { failedThisVersion = true }
                case .done:
                    break
                }
            }
            // The node's properties may have changed (constraints, drivers).
            if !running.isEmpty, node.status == .ready, let reason = context.staticReason(i, info),
               !reason.hasPrefix("node ") {
                for a in running {
                    context.stop(a, reason: "node no longer feasible: \(reason)")
                    context.changes(name) { $0.stop += 1 }
                }
                continue
            }
            if running.count > 1 {
                running.sort { ($0.jobVersion == version ? 0 : 1, $0.createdAt) < ($1.jobVersion == version ? 0 : 1, $1.createdAt) }
                for extra in running.dropFirst() {
                    context.stop(extra, reason: "duplicate of allocation \(running[0].id)")
                    context.changes(name) { $0.stop += 1 }
                }
            }
            if let current = running.first {
                if current.jobVersion == version {
                    context.changes(name) { $0.ignore += 1 }
                } else if current.groupFingerprint == info.fingerprint {
                    var updated = current
                    updated.jobVersion = version
                    updated.modifiedAt = now
                    context.plan.updates.append(updated)
                    context.changes(name) { $0.inPlaceUpdate += 1 }
                } else if updateBudget > 0, current.clientStatus != .unknown {
                    updateBudget -= 1
                    context.stop(current, reason: "updated to job version \(version)")
                    let request = PlacementRequest(group: name, index: 0, previous: current, node: i,
                                                   kind: .destructiveUpdate)
                    if let placed = context.place(request, group: group) {
                        context.linkReplacement(of: current.id, to: placed.id)
                        context.changes(name) { $0.destructiveUpdate += 1 }
                    }
                }
                continue
            }
            if finishedThisVersion || failedThisVersion { continue }
            guard context.isFeasibleIgnoringRoom(i, info) else { continue }
            if context.place(PlacementRequest(group: name, index: 0, node: i), group: group) != nil {
                context.changes(name) { $0.place += 1 }
            }
        }
    }

    private func followUp(at time: Timestamp) {
        guard !context.plan.followUpEvaluations.contains(where: { $0.waitUntil == time }) else { return }
        context.plan.followUpEvaluations.append(Evaluation(
            id: EvaluationID(context.rng.nextUUIDString()), namespace: job.namespace, jobID: job.id,
            jobType: job.type, priority: job.priority, trigger: .maxDisconnectTimeout, status: .pending,
            waitUntil: time, previousEvaluation: context.evaluation.id, createdAt: now))
    }
}
