/// Why an evaluation was created.
public enum EvaluationTrigger: String, CaseIterable, Hashable, Codable, Sendable {
    case jobRegister = "job-register"
    case jobDeregister = "job-deregister"
    case nodeUpdate = "node-update"
    case nodeDrain = "node-drain"
    case allocationFailure = "alloc-failure"
    case allocationStop = "alloc-stop"
    /// A follow-up created by the scheduler to reschedule after a delay.
    case rescheduleLater = "alloc-reschedule-later"
    /// A blocked evaluation retried when resources free up.
    case queuedAllocations = "queued-allocs"
    case deploymentWatcher = "deployment-watcher"
    case periodicJob = "periodic-job"
    case maxDisconnectTimeout = "max-disconnect-timeout"
    case reconnect = "reconnect"
    case preemption = "preemption"
    case scaling = "job-scaling"
}

/// Where an evaluation is in its life.
public enum EvaluationStatus: String, CaseIterable, Hashable, Codable, Sendable {
    case pending
    /// Waiting for resources; re-run when capacity changes.
    case blocked
    case complete
    case failed
    case cancelled
}

/// A request to reconcile one job with the cluster: the scheduler's unit of work.
public struct Evaluation: Hashable, Codable, Sendable, Identifiable {
    public var id: EvaluationID
    public var namespace: String
    public var jobID: String
    public var jobType: JobType
    public var priority: Int
    public var trigger: EvaluationTrigger
    public var status: EvaluationStatus
    public var statusDescription: String
    /// The node whose change caused it, for node triggers.
    public var nodeID: NodeID?
    public var deploymentID: DeploymentID?
    /// Do not process before this time (delayed reschedules, disconnect timeouts).
    public var waitUntil: Timestamp?
    public var previousEvaluation: EvaluationID?
    public var createdAt: Timestamp

    public init(id: EvaluationID, namespace: String = "default", jobID: String, jobType: JobType = .service,
                priority: Int = JobSpec.defaultPriority, trigger: EvaluationTrigger = .jobRegister,
                status: EvaluationStatus = .pending, statusDescription: String = "", nodeID: NodeID? = nil,
                deploymentID: DeploymentID? = nil, waitUntil: Timestamp? = nil,
                previousEvaluation: EvaluationID? = nil, createdAt: Timestamp = .epoch) {
        self.id = id
        self.namespace = namespace
        self.jobID = jobID
        self.jobType = jobType
        self.priority = priority
        self.trigger = trigger
        self.status = status
        self.statusDescription = statusDescription
        self.nodeID = nodeID
        self.deploymentID = deploymentID
        self.waitUntil = waitUntil
        self.previousEvaluation = previousEvaluation
        self.createdAt = createdAt
    }

    /// The job's identity.
    public var jobKey: JobKey { JobKey(namespace: namespace, id: jobID) }
}

/// A registered job: the specification at one version, as the servers hold it.
public struct Job: Hashable, Codable, Sendable {
    public var spec: JobSpec
    /// Increases with every change of the specification.
    public var version: Int
    /// Deregistered (or stopped): all allocations stop.
    public var stopped: Bool
    /// Whether this version completed a successful deployment.
    public var stable: Bool
    public var submittedAt: Timestamp

    public init(spec: JobSpec, version: Int = 0, stopped: Bool = false, stable: Bool = false,
                submittedAt: Timestamp = .epoch) {
        self.spec = spec
        self.version = version
        self.stopped = stopped
        self.stable = stable
        self.submittedAt = submittedAt
    }

    public var key: JobKey { spec.key }
}
