import Model

/// Follows the rolling update of a service job's current version: creates
/// the deployment, tracks canaries and placements, fails it on unhealthy
/// allocations or missed deadlines (asking for a revert when `auto_revert`),
/// and marks it successful when every allocation runs the version healthily.
struct DeploymentTracker {
    let context: PlanContext
    private(set) var current: Deployment?
    private var changed = false

    init(context: PlanContext) {
        self.context = context
        if let d = context.state.deployments[context.job.key], d.jobVersion == context.jobVersion {
            current = d
        }
    }

    /// The deployment of this version, created when missing, to go back to
    /// the job's last stable version if it fails
    /// (``lastStableVersion(replacing:)``).
    mutating func ensure(replacing olds: [Allocation]) -> Deployment {
        if let current { return current }
        let revertVersion = lastStableVersion(replacing: olds)
        var d = Deployment(id: DeploymentID(context.rng.nextUUIDString()), namespace: context.job.namespace,
                           jobID: context.job.id, jobVersion: context.jobVersion, status: .running,
                           statusDescription: "deployment is running", revertVersion: revertVersion,
                           createdAt: context.now)
        for group in context.job.groups {
            guard let u = group.update, u.maxParallel > 0 else { continue }
            d.groups[group.name] = DeploymentGroupState(
                autoRevert: u.autoRevert, autoPromote: u.autoPromote, promoted: u.canary == 0,
                desiredCanaries: u.canary, desiredTotal: group.count,
                requireProgressBy: context.now + u.progressDeadline)
        }
        current = d
        changed = true
        return d
    }

    /// The job's last stable version, where a failed deployment of this
    /// version goes back to: the previous deployment's version if it
    /// succeeded, else the version that deployment would have gone back to
    /// (it failed, was cancelled, or was superseded while running). With no
    /// earlier deployment, the newest version the replaced allocations `olds`
    /// run: they were placed without a deployment, so none ever failed.
    func lastStableVersion(replacing olds: [Allocation]) -> Int? {
        if let previous = context.state.deployments[context.job.key], previous.jobVersion < context.jobVersion {
            return previous.status == .successful ? previous.jobVersion : previous.revertVersion
        }
        return olds.map(\.jobVersion).filter { $0 < context.jobVersion }.max()
    }

    mutating func setGroup(_ name: String, _ state: DeploymentGroupState) {
        guard current != nil, current!.groups[name] != state else { return }
        current!.groups[name] = state
        changed = true
    }

    mutating func placed(_ allocation: Allocation) {
        guard let d = current, allocation.deploymentID == d.id else { return }
        current!.groups[allocation.group, default: DeploymentGroupState()].placedAllocations += 1
        changed = true
    }

    /// Fails the running deployment when an allocation of it is unhealthy,
    /// failed, or not healthy by its deadline; schedules a look at the next deadline.
    mutating func assessHealth(allocations: [Allocation]) {
        guard var d = current, d.status == .running else { return }
        let now = context.now
        var failure: String?
        var nextDeadline: Timestamp?
        var healthyByGroup: [String: Int] = [:], unhealthyByGroup: [String: Int] = [:]
        for a in allocations where a.deploymentID == d.id && a.desiredStatus == .run {
            guard let group = context.job.group(named: a.group), let u = group.update else { continue }
            let health = a.deploymentStatus?.healthy
            if health == true {
                healthyByGroup[a.group, default: 0] += 1
                continue
            }
            if health == false || a.clientStatus == .failed {
                unhealthyByGroup[a.group, default: 0] += 1
                failure = failure ?? "allocation \(a.id) is unhealthy"
                continue
            }
            let deadline = a.createdAt + u.healthyDeadline
            if now >= deadline {
                unhealthyByGroup[a.group, default: 0] += 1
                failure = failure ?? "allocation \(a.id) not healthy by its healthy_deadline"
            } else if nextDeadline == nil || deadline < nextDeadline! {
                nextDeadline = deadline
            }
        }
        for name in d.groups.keys.sorted() {
            let healthy = healthyByGroup[name] ?? 0, unhealthy = unhealthyByGroup[name] ?? 0
            if d.groups[name]!.healthyAllocations != healthy || d.groups[name]!.unhealthyAllocations != unhealthy {
                d.groups[name]!.healthyAllocations = healthy
                d.groups[name]!.unhealthyAllocations = unhealthy
                changed = true
            }
            if failure == nil, let by = d.groups[name]!.requireProgressBy, now >= by,
               healthy < d.groups[name]!.desiredTotal {
                failure = "group \(name) made no progress by its progress_deadline"
            }
        }
        if let failure {
            d.status = .failed
            d.statusDescription = "failed: \(failure)"
            d.modifiedAt = now
            changed = true
            if d.groups.values.contains(where: \.autoRevert), let revert = d.revertVersion {
                // The servers register version `revert` again as a new
                // version (``JobHistory/revert(by:versions:at:)``); this
                // evaluation then rolls the allocations back to it.
                context.plan.revertToJobVersion = revert
                d.statusDescription += "; rolling back to job version \(revert)"
                context.plan.followUpEvaluations.append(Evaluation(
                    id: EvaluationID(context.rng.nextUUIDString()), namespace: d.namespace, jobID: d.jobID,
                    jobType: context.job.type, priority: context.job.priority, trigger: .deploymentWatcher,
                    deploymentID: d.id, previousEvaluation: context.evaluation.id, createdAt: now))
            }
        } else if let nextDeadline {
            context.plan.followUpEvaluations.append(Evaluation(
                id: EvaluationID(context.rng.nextUUIDString()), namespace: d.namespace, jobID: d.jobID,
                jobType: context.job.type, priority: context.job.priority, trigger: .deploymentWatcher,
                deploymentID: d.id, waitUntil: nextDeadline, previousEvaluation: context.evaluation.id,
                createdAt: now))
        }
        current = d
    }

    /// Marks the deployment successful when done, and puts it in the plan if changed.
    mutating func finish() {
        guard var d = current else { return }
        if d.status == .running {
            var done = true
            for group in context.job.groups where d.groups[group.name] != nil {
                let gs = d.groups[group.name]!
                if gs.desiredCanaries > 0 && !gs.promoted { done = false }
                let live = context.state.allocations(ofJob: context.job.key).filter {
                    $0.group == group.name && $0.holdsResources && !context.released.contains($0.id)
                }
                let planned = context.plan.placements.filter { $0.group == group.name }
                if !planned.isEmpty { done = false }
                if live.count != group.count { done = false }
                for a in live where a.jobVersion != context.jobVersion
                    || (a.deploymentID == d.id && a.deploymentStatus?.healthy != true) {
                    done = false
                }
            }
            if done {
                d.status = .successful
                d.statusDescription = "deployment completed successfully"
                d.modifiedAt = context.now
                changed = true
            }
        }
        if changed { context.plan.deployment = d }
    }
}
