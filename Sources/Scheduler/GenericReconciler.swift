import Model

/// Reconciles batch and service jobs: `count` allocations per group, named
/// by index; lost and migrated ones replaced, failed ones rescheduled with
/// backoff, changed ones updated in place or replaced (rolling, with
/// canaries, for services with an `update` block).
struct GenericReconciler {
    let context: PlanContext
    var job: JobSpec { context.job }
    var version: Int { context.jobVersion }
    var now: Timestamp { context.now }
    var state: ClusterState { context.state }

    func run() {
        let all = state.allocations(ofJob: job.key).filter { $0.desiredStatus == .run }
        var byGroup: [String: [Allocation]] = [:]
        for a in all { byGroup[a.group, default: []].append(a) }
        for (name, allocs) in byGroup.sorted(by: { $0.key < $1.key }) where job.group(named: name) == nil {
            for a in allocs where !a.clientStatus.isTerminal || a.clientStatus == .unknown {
                context.stop(a, reason: "group \(name) removed from job")
                context.changes(name) { $0.stop += 1 }
            }
        }
        var deployments = DeploymentTracker(context: context)
        deployments.assessHealth(allocations: all)
        for group in job.groups {
            reconcile(group: group, allocations: byGroup[group.name] ?? [], deployments: &deployments)
        }
        deployments.finish()
    }

    private func reconcile(group: GroupSpec, allocations: [Allocation], deployments: inout DeploymentTracker) {
        let info = context.info(group)
        let name = group.name
        var byIndex: [Int: [Allocation]] = [:]
        for a in allocations { byIndex[a.index, default: []].append(a) }
        let maxIndex = max(group.count, (byIndex.keys.max() ?? -1) + 1)
        var destructive: [Allocation] = []
        let promoted = autoPromote(group: group, allocations: allocations, deployments: &deployments)

        for index in 0..<maxIndex {
            let allocs = (byIndex[index] ?? []).sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
            var running: [Allocation] = [], unknown: [Allocation] = [], failed: [Allocation] = []
            var complete: [Allocation] = [], replaced: [Allocation] = []
            for a in allocs {
                switch AllocationDisposition.of(a, group: group, state: state, now: now) {
                case .running:
                    running.append(a)
                case .lost(let reason):
                    context.stop(a, reason: reason, clientStatus: .lost)
                    context.changes(name) { $0.lost += 1 }
                    replaced.append(a)
                case .migrate:
                    context.stop(a, reason: "node draining")
                    context.changes(name) { $0.migrate += 1 }
                    replaced.append(a)
                case .unknown(let since, let expiry):
                    markUnknown(a, since: since, expiry: expiry)
                    unknown.append(a)
                case .reconnecting:
                    running.append(a)
                case .failed:
                    failed.append(a)
                case .complete:
                    complete.append(a)
                case .done:
                    break
                }
            }
            if index >= group.count {
                for a in running + unknown {
                    context.stop(a, reason: "count reduced to \(group.count)")
                    context.changes(name) { $0.stop += 1 }
                }
                continue
            }
            running = resolveReconnects(running, group: group)
            let replaceUnknown = group.disconnect?.replace ?? true
            if !replaceUnknown { running += unknown }
            // Several allocations for one index: keep one (a canary beside the
            // old allocation it will replace stays until promotion).
            if running.count > 1 {
                running.sort { a, b in
                    let (x, y) = (a.jobVersion == version, b.jobVersion == version)
                    return x != y ? x : (a.createdAt, a.id) < (b.createdAt, b.id)
                }
                let keeper = running[0]
                let keeperIsPendingCanary = keeper.jobVersion == version
                    && keeper.deploymentStatus?.canary == true && !promoted
                for extra in running.dropFirst() {
                    if keeperIsPendingCanary && extra.jobVersion != version { continue }
                    let reason = extra.jobVersion != version && keeper.jobVersion == version
                        ? "replaced by \(keeper.deploymentStatus?.canary == true ? "promoted canary" : "new version")"
                        : "duplicate of allocation \(keeper.id)"
                    context.stop(extra, reason: reason)
                    context.changes(name) { $0.stop += 1 }
                }
                if keeperIsPendingCanary {
                    running = [keeper]
                    context.changes(name) { $0.ignore += 1 }
                    continue
                }
                running = [keeper]
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
                } else {
                    destructive.append(current)
                }
                continue
            }
            // Nothing runs for this index.
            if let u = unknown.first {
                place(PlacementRequest(group: name, index: index, previous: u, kind: .disconnectReplacement),
                      group: group, deployments: &deployments)
                continue
            }
            if let old = replaced.last {
                let kind: PlacementRequest.Kind = old.desiredDescription == "node draining" ? .migrate : .lost
                if let a = place(PlacementRequest(group: name, index: index, previous: old, kind: kind),
                                 group: group, deployments: &deployments) {
                    context.linkReplacement(of: old.id, to: a.id)
                }
                continue
            }
            if let f = failed.last {
                reschedule(f, group: group, deployments: &deployments)
                continue
            }
            if job.type == .batch, !complete.isEmpty { continue }
            place(PlacementRequest(group: name, index: index, previous: complete.last),
                  group: group, deployments: &deployments)
        }
        updateDestructively(destructive, group: group, deployments: &deployments)
    }

    /// Whether the group's canaries are promoted, promoting them first when
    /// `auto_promote` is set and all are healthy.
    private func autoPromote(group: GroupSpec, allocations: [Allocation], deployments: inout DeploymentTracker) -> Bool {
        guard let d = deployments.current, var gs = d.groups[group.name] else { return false }
        if gs.promoted { return true }
        guard d.status == .running, let u = group.update, u.canary > 0, u.autoPromote else { return false }
        let canaries = allocations.filter {
            $0.deploymentID == d.id && $0.deploymentStatus?.canary == true && $0.holdsResources
        }
        guard canaries.count >= u.canary, canaries.allSatisfy({ $0.deploymentStatus?.healthy == true }) else {
            return false
        }
        gs.promoted = true
        deployments.setGroup(group.name, gs)
        return true
    }

    @discardableResult
    private func place(_ request: PlacementRequest, group: GroupSpec,
                       deployments: inout DeploymentTracker) -> Allocation? {
        var request = request
        if request.deploymentID == nil, let d = deployments.current, d.status.isActive {
            request.deploymentID = d.id
        }
        let placed = context.place(request, group: group)
        if let placed {
            deployments.placed(placed)
            context.changes(group.name) {
                switch request.kind {
                case .place, .lost, .migrate, .disconnectReplacement: $0.place += 1
                case .destructiveUpdate: $0.destructiveUpdate += 1
                case .reschedule: $0.reschedule += 1
                case .canary: $0.canary += 1
                }
            }
        }
        return placed
    }

    private func markUnknown(_ a: Allocation, since: Timestamp, expiry: Timestamp) {
        if a.clientStatus != .unknown {
            var updated = a
            updated.clientStatus = .unknown
            updated.clientDescription = "node disconnected"
            updated.disconnectedAt = since
            updated.modifiedAt = now
            context.plan.updates.append(updated)
            context.changes(a.group) { $0.disconnect += 1 }
        }
        followUp(at: expiry, trigger: .maxDisconnectTimeout)
    }

    /// Between an allocation back from a disconnect and its replacement, keeps
    /// one as the group's `disconnect.reconcile` says.
    private func resolveReconnects(_ running: [Allocation], group: GroupSpec) -> [Allocation] {
        let back = running.filter { $0.clientStatus == .unknown }
        guard !back.isEmpty else { return running }
        var keep = running.filter { $0.clientStatus != .unknown }
        for original in back {
            let rivals = keep.filter { $0.previousAllocation == original.id || $0.index == original.index }
            let strategy = group.disconnect?.reconcile ?? .bestScore
            var originalWins = true
            if let rival = rivals.first {
                switch strategy {
                case .bestScore, .keepOriginal: originalWins = true
                case .keepReplacement: originalWins = false
                case .longestRunning: originalWins = original.createdAt <= rival.createdAt
                }
            }
            if originalWins {
                for rival in rivals {
                    context.stop(rival, reason: "original allocation \(original.id) reconnected (\(strategy.rawValue))")
                    context.changes(group.name) { $0.stop += 1 }
                    keep.removeAll { $0.id == rival.id }
                }
                var updated = original
                updated.clientStatus = .running
                updated.clientDescription = "node reconnected"
                updated.disconnectedAt = nil
                updated.modifiedAt = now
                context.plan.updates.append(updated)
                context.changes(group.name) { $0.reconnect += 1 }
                keep.append(updated)
            } else {
                context.stop(original, reason: "replacement kept after reconnect (\(strategy.rawValue))")
                context.changes(group.name) { $0.stop += 1 }
            }
        }
        return keep
    }

    /// Reschedules a failed allocation when its policy allows, now or (through
    /// a follow-up evaluation) after its delay.
    private func reschedule(_ failed: Allocation, group: GroupSpec, deployments: inout DeploymentTracker) {
        let policy = group.reschedule
        guard policy.isEnabled else { return }
        let finished = failed.finishedAt
        if !policy.unlimited {
            let windowStart = now - policy.interval
            let recent = failed.rescheduleTracker.filter { $0.time >= windowStart }.count
            guard recent < policy.attempts else { return }
        }
        let delay = policy.delay(forAttempt: failed.rescheduleTracker.count,
                                 previousDelays: failed.rescheduleTracker.map(\.delay))
        let due = finished + delay
        guard now >= due else {
            followUp(at: due, trigger: .rescheduleLater)
            return
        }
        let event = RescheduleEvent(time: now, previousAllocation: failed.id, previousNode: failed.nodeID,
                                    delay: delay)
        let request = PlacementRequest(group: group.name, index: failed.index, previous: failed,
                                       reschedule: event, kind: .reschedule)
        if let placed = place(request, group: group, deployments: &deployments) {
            var old = failed
            old.nextAllocation = placed.id
            old.modifiedAt = now
            context.plan.updates.append(old)
        }
    }

    private func followUp(at time: Timestamp, trigger: EvaluationTrigger) {
        guard !context.plan.followUpEvaluations.contains(where: { $0.waitUntil == time && $0.trigger == trigger })
        else { return }
        context.plan.followUpEvaluations.append(Evaluation(
            id: EvaluationID(context.rng.nextUUIDString()), namespace: job.namespace, jobID: job.id,
            jobType: job.type, priority: job.priority, trigger: trigger, status: .pending,
            waitUntil: time, previousEvaluation: context.evaluation.id, createdAt: now))
    }

    /// Replaces allocations whose group changed: all at once, or for services
    /// with an `update` block, `max_parallel` at a time after canaries.
    private func updateDestructively(_ olds: [Allocation], group: GroupSpec, deployments: inout DeploymentTracker) {
        guard !olds.isEmpty else { return }
        let name = group.name
        guard job.type == .service, let update = group.update, update.maxParallel > 0 else {
            for old in olds { replace(old, group: group, deployments: &deployments) }
            return
        }
        let d = deployments.ensure(replacing: olds)
        guard d.status == .running else { return }
        var gs = d.groups[name] ?? DeploymentGroupState()
        let mine = state.allocations(ofJob: job.key).filter {
            $0.group == name && $0.deploymentID == d.id && $0.holdsResources && !context.released.contains($0.id)
        } + context.plan.placements.filter { $0.group == name && $0.deploymentID == d.id }
        if update.canary > 0 && !gs.promoted {
            let canaries = mine.filter { $0.deploymentStatus?.canary == true }
            let missing = update.canary - canaries.count
            let taken = Set(canaries.map(\.index))
            for old in olds.filter({ !taken.contains($0.index) }).prefix(max(0, missing)) {
                let request = PlacementRequest(group: name, index: old.index, canary: true, deploymentID: d.id,
                                               kind: .canary)
                if let placed = place(request, group: group, deployments: &deployments) {
                    gs.placedCanaries.append(placed.id)
                }
            }
            gs.desiredCanaries = update.canary
            let healthy = canaries.filter { $0.deploymentStatus?.healthy == true }.count
            if update.autoPromote && canaries.count >= update.canary && healthy == canaries.count {
                gs.promoted = true
            }
            deployments.setGroup(name, gs)
            if !gs.promoted { return }
        }
        let inFlight = mine.filter { $0.deploymentStatus?.healthy != true && $0.deploymentStatus?.canary != true }
        var budget = update.maxParallel - inFlight.count
        for old in olds where budget > 0 {
            replace(old, group: group, deployments: &deployments)
            budget -= 1
        }
    }

    private func replace(_ old: Allocation, group: GroupSpec, deployments: inout DeploymentTracker) {
        context.stop(old, reason: "updated to job version \(version)")
        let request = PlacementRequest(group: group.name, index: old.index, previous: old, kind: .destructiveUpdate)
        if let placed = place(request, group: group, deployments: &deployments) {
            context.linkReplacement(of: old.id, to: placed.id)
        }
    }
}
