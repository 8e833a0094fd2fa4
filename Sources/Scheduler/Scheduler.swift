import Model

/// Pure placement and reconciliation: (cluster state snapshot, job,
/// evaluation, time, seeded generator) → ``Plan``. No I/O, no clock, no
/// global randomness: the same inputs always give the same plan.
///
/// ```swift
/// var rng = SeededGenerator(seed: raftIndex)
/// let plan = try Scheduler().process(evaluation: eval, job: job, state: snapshot, now: now, rng: &rng)
/// ```
public struct Scheduler: Sendable {
    public var configuration: SchedulerConfiguration

    public init(configuration: SchedulerConfiguration = SchedulerConfiguration()) {
        self.configuration = configuration
    }

    /// Reconciles `job` with the cluster and returns the plan that would make
    /// them agree.
    ///
    /// - Parameters:
    ///   - evaluation: the work item; its job key must match `job`.
    ///   - job: the job at its current version; nil (or `stopped`) when it
    ///     was deregistered: every allocation is then stopped.
    ///   - state: a snapshot of the cluster.
    ///   - now: the time of the decision (reschedule delays, disconnect
    ///     timeouts, deployment deadlines are measured against it).
    ///   - rng: the seeded generator; allocation ids and sampling come from it.
    /// - Throws: ``SchedulerError/jobMismatch(evaluation:job:)``.
    public func process<R: RandomNumberGenerator>(
        evaluation: Evaluation, job: Job?, state: ClusterState, now: Timestamp, rng: inout R
    ) throws(SchedulerError) -> Plan {
        if let job, job.key != evaluation.jobKey {
            throw .jobMismatch(evaluation: evaluation.jobKey, job: job.key)
        }
        let generator = SeededGenerator(seed: rng.next())
        guard let job, !job.stopped else {
            return stopAll(evaluation: evaluation, version: job?.version, state: state, now: now)
        }
        let context = PlanContext(state: state, job: job.spec, jobVersion: job.version, evaluation: evaluation,
                                  now: now, configuration: configuration, rng: generator)
        switch job.spec.type {
        case .service, .batch:
            GenericReconciler(context: context).run()
        case .system, .sysbatch:
            SystemReconciler(context: context).run()
        }
        if !context.plan.failedPlacements.isEmpty, job.spec.type == .service || job.spec.type == .batch {
            context.plan.blockedEvaluation = Evaluation(
                id: EvaluationID(context.rng.nextUUIDString()), namespace: evaluation.namespace,
                jobID: evaluation.jobID, jobType: job.spec.type, priority: job.spec.priority,
                trigger: .queuedAllocations, status: .blocked,
                statusDescription: context.plan.failedPlacements.map(\.description).joined(separator: "; "),
                previousEvaluation: evaluation.id, createdAt: now)
        }
        return context.plan
    }

    private func stopAll(evaluation: Evaluation, version: Int?, state: ClusterState, now: Timestamp) -> Plan {
        var plan = Plan(evaluationID: evaluation.id, jobKey: evaluation.jobKey, jobVersion: version)
        for a in state.allocations(ofJob: evaluation.jobKey) where a.desiredStatus == .run {
            guard !a.clientStatus.isTerminal || a.clientStatus == .unknown else { continue }
            plan.stops.append(AllocationStop(allocationID: a.id, nodeID: a.nodeID, reason: "job stopped"))
            plan.desiredChanges[a.group, default: DesiredChanges()].stop += 1
        }
        if var d = state.deployments[evaluation.jobKey], d.status.isActive {
            d.status = .cancelled
            d.statusDescription = "job stopped"
            d.modifiedAt = now
            plan.deployment = d
        }
        return plan
    }
}
