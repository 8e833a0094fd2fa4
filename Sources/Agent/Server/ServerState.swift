import Model
import Scheduler

/// A registered job with its history.
public struct JobRecord: Codable, Sendable, Hashable {
    /// Versions, oldest first; the last is current. At most ``ServerState/versionsKept``.
    public var versions: [Job]
    /// The Raft index that created the job, and the one that last changed it.
    public var createIndex: UInt64
    public var modifyIndex: UInt64

    public var current: Job { versions[versions.count - 1] }
}

/// What a register with an idempotency key produced the first time.
struct IdempotentRegistration: Codable, Sendable, Hashable {
    var jobVersion: Int
    var evaluationID: EvaluationID?
    var index: UInt64
    /// When the first registration was proposed (nil in state from before keys expired).
    var at: Timestamp?
}

/// The replicated state of the control plane: jobs with their versions,
/// evaluations, and the cluster the scheduler sees (nodes, allocations,
/// deployments). A value: every server holds one, changed only by applying
/// committed ``ServerCommand``s in log order, so all of them agree.
public struct ServerState: Sendable {
    /// Versions kept per job (`caravan job history`).
    public static let versionsKept = 6
    /// How long an idempotency key replays its first registration; a retry
    /// after that registers again.
    public static let idempotencyWindow: Duration = .seconds(24 * 3600)

    // Sharded: every reader copies the state (see ``ShardedDictionary``).
    public private(set) var jobs: ShardedDictionary<JobKey, JobRecord> = [:]
    public private(set) var evaluations: ShardedDictionary<EvaluationID, Evaluation> = [:]
    /// Per job, its evaluations still pending or blocked: what a job's status
    /// and a new blocked evaluation look at, without scanning every evaluation.
    private(set) var openEvaluationsByJob: ShardedDictionary<JobKey, Set<EvaluationID>> = [:]
    /// The blocked evaluations: what the leader's unblock pass reads, every
    /// 50 ms while capacity changes, without looking each one up.
    private(set) var blockedEvaluations: ShardedDictionary<EvaluationID, Evaluation> = [:]
    /// The Raft index at which each evaluation last changed.
    public private(set) var evaluationModifyIndex: ShardedDictionary<EvaluationID, UInt64> = [:]
    public private(set) var cluster = ClusterState()
    /// The Raft index at which each node last changed.
    public private(set) var nodeModifyIndex: [NodeID: UInt64] = [:]
    /// Names and addresses of the Raft members, from membership changes'
    /// contexts and ``ServerCommand/describeMembers(_:)``.
    public private(set) var members: [UInt64: MemberDescription] = [:]
    /// The index of the last entry applied.
    public private(set) var appliedIndex: UInt64 = 0
    /// Registrations by idempotency key (the CLI sends one with every run).
    var idempotency: ShardedDictionary<String, IdempotentRegistration> = [:]

    public init() {}

    /// Facts about one apply, for the services that react to changes.
    public struct Changes: Sendable {
        /// The Raft index of the entry applied.
        public var index: UInt64 = 0
        /// Evaluations that became pending (for the leader's broker).
        public var pendingEvaluations: [Evaluation] = []
        /// Something that frees or adds capacity happened: blocked evaluations may now fit.
        public var capacityChanged = false
        /// The Raft members or their addresses changed.
        public var membersChanged = false
        /// What changed, for the event stream.
        public var events: [StateEvent] = []
        /// Allocations a plan placed, stopped or updated, by node: the
        /// node's allocation watchers wake and send them.
        public var assignmentsChanged: [NodeID: Set<AllocationID>] = [:]
        /// Allocations their client reported finished, by node: the watchers
        /// drop them at their next wake-up, without waking for them.
        public var allocationsFinished: [NodeID: Set<AllocationID>] = [:]
        /// The whole state was replaced (a snapshot was restored).
        public var stateReplaced = false

        var isEmpty: Bool {
            pendingEvaluations.isEmpty && !capacityChanged && !membersChanged && events.isEmpty
                && assignmentsChanged.isEmpty && allocationsFinished.isEmpty && !stateReplaced
        }
    }

    // MARK: Queries

    public func job(_ key: JobKey) -> Job? { jobs[key]?.current }

    /// The job's status as a list shows it.
    public func status(of key: JobKey) -> String {
        guard let record = jobs[key] else { return "dead" }
        let allocations = cluster.allocations(ofJob: key)
        if allocations.contains(where: { $0.clientStatus == .running }) { return "running" }
        if record.current.stopped { return "dead" }
        if record.current.spec.type == .batch || record.current.spec.type == .sysbatch,
           !allocations.isEmpty, allocations.allSatisfy({ $0.isTerminal }),
           openEvaluationsByJob[key] == nil
        {
            return "dead"
        }
        return "pending"
    }

    /// Allocation counts by client status.
    public func allocationCounts(of key: JobKey) -> [String: UInt32] {
        var counts: [String: UInt32] = [:]
        for a in cluster.allocations(ofJob: key) { counts[a.clientStatus.rawValue, default: 0] += 1 }
        return counts
    }

    // MARK: Apply

    /// Applies one committed command at `index`.
    public mutating func apply(_ command: ServerCommand, at index: UInt64) -> (CommandOutcome, Changes) {
        appliedIndex = max(appliedIndex, index)
        var changes = Changes()
        changes.index = index
        let outcome: CommandOutcome
        switch command {
        case .registerJob(let register):
            outcome = registerJob(register, index: index, changes: &changes)
        case .stopJob(let stop):
            outcome = stopJob(stop, index: index, changes: &changes)
        case .applyPlan(let result):
            outcome = applyPlan(result, index: index, changes: &changes)
        case .upsertEvaluations(let evaluations, _):
            for evaluation in evaluations { upsert(evaluation, index: index, changes: &changes) }
            outcome = .applied(index: index)
        case .updateNode(let update):
            var node = update.node
            if let old = cluster.node(node.id), old.status == node.status { node.statusUpdatedAt = old.statusUpdatedAt }
            cluster.upsert(node)
            nodeModifyIndex[node.id] = index
            changes.capacityChanged = true
            changes.events.append(.node(node, "NodeUpdated"))
            for evaluation in update.evaluations { upsert(evaluation, index: index, changes: &changes) }
            outcome = .applied(index: index)
        case .updateAllocations(let update):
            outcome = updateAllocations(update, index: index, changes: &changes)
        case .describeMembers(let descriptions):
            for d in descriptions { members[d.id] = d }
            changes.membersChanged = true
            outcome = .applied(index: index)
        }
        return (outcome, changes)
    }

    /// Notes an entry that changes nothing (one this version cannot decode).
    public mutating func skip(at index: UInt64) {
        appliedIndex = max(appliedIndex, index)
    }

    /// Records what a membership change carries in its context.
    public mutating func applyMembership(_ description: MemberDescription?, removing id: UInt64?, at index: UInt64) {
        appliedIndex = max(appliedIndex, index)
        if let id { members[id] = nil }
        if let description { members[description.id] = description }
    }

    private mutating func registerJob(_ r: ServerCommand.RegisterJob, index: UInt64, changes: inout Changes) -> CommandOutcome {
        if let key = r.idempotencyKey, let first = idempotency[key], r.at < (first.at ?? r.at) + Self.idempotencyWindow {
            return .jobRegistered(jobVersion: first.jobVersion, evaluationID: first.evaluationID, index: first.index, replayed: true)
        }
        let key = r.spec.key
        var record: JobRecord
        if var existing = jobs[key] {
            let current = existing.current
            if current.spec != r.spec || current.stopped {
                let next = Job(spec: r.spec, version: current.version + 1, submittedAt: r.at)
                existing.versions.append(next)
                if existing.versions.count > Self.versionsKept { existing.versions.removeFirst(existing.versions.count - Self.versionsKept) }
            }
            existing.modifyIndex = index
            record = existing
        } else {
            record = JobRecord(versions: [Job(spec: r.spec, version: 0, submittedAt: r.at)], createIndex: index, modifyIndex: index)
        }
        jobs[key] = record
        changes.events.append(.job(record.current, "JobRegistered"))
        let evaluation = Evaluation(
            id: r.evaluationID, namespace: key.namespace, jobID: key.id, jobType: r.spec.type,
            priority: r.spec.priority, trigger: .jobRegister, createdAt: r.at)
        upsert(evaluation, index: index, changes: &changes)
        if let idempotencyKey = r.idempotencyKey {
            idempotency[idempotencyKey] = IdempotentRegistration(
                jobVersion: record.current.version, evaluationID: evaluation.id, index: index, at: r.at)
            // Expired keys go in bulk, every 1,024 keys: the same on every replica.
            if idempotency.count % 1024 == 0 {
                idempotency = ShardedDictionary(idempotency.lazy
                    .filter { r.at < ($0.value.at ?? r.at) + Self.idempotencyWindow }.map { ($0.key, $0.value) })
            }
        }
        return .jobRegistered(jobVersion: record.current.version, evaluationID: evaluation.id, index: index, replayed: false)
    }

    private mutating func stopJob(_ s: ServerCommand.StopJob, index: UInt64, changes: inout Changes) -> CommandOutcome {
        guard var record = jobs[s.key] else { return .rejected("job \(s.key) is not registered") }
        var stopped = record.current
        if !stopped.stopped {
            stopped.stopped = true
            stopped.version += 1
            stopped.submittedAt = s.at
            record.versions.append(stopped)
            if record.versions.count > Self.versionsKept { record.versions.removeFirst() }
        }
        record.modifyIndex = index
        jobs[s.key] = record
        changes.events.append(.job(stopped, s.purge ? "JobPurged" : "JobDeregistered"))
        let evaluation = Evaluation(
            id: s.evaluationID, namespace: s.key.namespace, jobID: s.key.id, jobType: stopped.spec.type,
            priority: stopped.spec.priority, trigger: .jobDeregister, createdAt: s.at)
        upsert(evaluation, index: index, changes: &changes)
        if s.purge { purge(s.key) }
        return .jobStopped(evaluationID: evaluation.id, index: index)
    }

    /// Removes a stopped job's record; its allocations stay until they are terminal and collected.
    private mutating func purge(_ key: JobKey) {
        jobs[key] = nil
    }

    private mutating func applyPlan(_ r: ServerCommand.PlanResult, index: UInt64, changes: inout Changes) -> CommandOutcome {
        cluster.apply(r.plan, at: r.at)
        let touched = r.plan.placements.map(\.id) + r.plan.updates.map(\.id) + r.plan.stops.map(\.allocationID)
            + r.plan.preemptions.map(\.allocationID)
        for id in touched {
            if let a = cluster.allocations[id] {
                changes.events.append(.allocation(a, "AllocationUpdated"))
                changes.assignmentsChanged[a.nodeID, default: []].insert(id)
            }
        }
        if !r.plan.stops.isEmpty || !r.plan.preemptions.isEmpty { changes.capacityChanged = true }
        // A successful deployment marks its version stable; a failed one with
        // auto_revert registers the version it goes back to anew.
        if var record = jobs[r.plan.jobKey] {
            let stabilized = JobHistory.markStable(by: r.plan, in: &record.versions)
            let reverted = JobHistory.revert(by: r.plan, versions: record.versions, at: r.at)
            if let reverted {
                record.versions.append(reverted)
                if record.versions.count > Self.versionsKept { record.versions.removeFirst(record.versions.count - Self.versionsKept) }
                changes.events.append(.job(reverted, "JobReverted"))
            }
            if stabilized || reverted != nil {
                record.modifyIndex = index
                jobs[r.plan.jobKey] = record
            }
        }
        upsert(r.evaluation, index: index, changes: &changes)
        for followUp in r.plan.followUpEvaluations { upsert(followUp, index: index, changes: &changes) }
        if let blocked = r.plan.blockedEvaluation {
            // One blocked evaluation per job: the newest supersedes the others.
            for id in (openEvaluationsByJob[blocked.jobKey] ?? []).sorted() {
                guard let other = evaluations[id], other.status == .blocked else { continue }
                var cancelled = other
                cancelled.status = .cancelled
                cancelled.statusDescription = "superseded by blocked evaluation \(blocked.id)"
                record(cancelled)
                evaluationModifyIndex[id] = index
                changes.events.append(.evaluation(cancelled, "EvaluationUpdated"))
            }
            upsert(blocked, index: index, changes: &changes)
        }
        return .planApplied(index: index)
    }

    /// Client statuses, applied in order. A status never goes from terminal
    /// back to running: a node that reconnects after the servers marked its
    /// allocation lost is told to stop it instead. A numbered report older
    /// than the last one applied to its allocation is ignored: a node may
    /// send several batches at once, and send a batch again after a failed
    /// call, so batches may commit out of order.
    ///
    /// An allocation that fails while it should run, or that runs again
    /// after the servers marked it unknown, gets an evaluation of its job
    /// (one per job, failure first), with the entry's evaluation ids.
    private mutating func updateAllocations(_ u: ServerCommand.AllocationUpdates, index: UInt64, changes: inout Changes) -> CommandOutcome {
        var failed = Set<JobKey>(), reconnected = Set<JobKey>()
        for update in u.updates {
            guard var a = cluster.allocations[update.allocationID], a.nodeID == u.nodeID else { continue }
            if let sequence = update.sequence, let last = a.clientSequence, sequence <= last { continue }
            if a.clientStatus.isTerminal && !update.clientStatus.isTerminal { continue }
            if update.clientStatus == .failed && a.clientStatus != .failed && a.desiredStatus == .run { failed.insert(a.jobKey) }
            if a.clientStatus == .unknown && update.clientStatus == .running { reconnected.insert(a.jobKey) }
            let wasHolding = a.holdsResources
            a.clientStatus = update.clientStatus
            a.clientDescription = update.clientDescription
            a.taskStates = update.taskStates
            a.modifiedAt = update.observedAt
            if let sequence = update.sequence { a.clientSequence = sequence }
            if update.clientStatus != .unknown { a.disconnectedAt = nil }
            cluster.upsert(a)
            if wasHolding && !a.holdsResources { changes.capacityChanged = true }
            if a.clientStatus.isTerminal { changes.allocationsFinished[a.nodeID, default: []].insert(a.id) }
            changes.events.append(.allocation(a, "AllocationUpdated"))
        }
        var ids = u.evaluationIDs.makeIterator()
        let wanted = failed.sorted().map { ($0, EvaluationTrigger.allocationFailure) }
            + reconnected.subtracting(failed).sorted().map { ($0, EvaluationTrigger.reconnect) }
        for (key, trigger) in wanted {
            guard let job = jobs[key]?.current, let id = ids.next() else { continue }
            let evaluation = Evaluation(
                id: id, namespace: key.namespace, jobID: key.id, jobType: job.spec.type, priority: job.spec.priority,
                trigger: trigger, nodeID: u.nodeID, createdAt: u.at)
            upsert(evaluation, index: index, changes: &changes)
        }
        for evaluation in u.evaluations { upsert(evaluation, index: index, changes: &changes) }
        return .applied(index: index)
    }

    private mutating func upsert(_ evaluation: Evaluation, index: UInt64, changes: inout Changes) {
        record(evaluation)
        evaluationModifyIndex[evaluation.id] = index
        changes.events.append(.evaluation(evaluation, "EvaluationUpdated"))
        if evaluation.status == .pending { changes.pendingEvaluations.append(evaluation) }
    }

    /// Stores an evaluation, keeping ``openEvaluationsByJob`` and
    /// ``blockedEvaluations`` current.
    private mutating func record(_ evaluation: Evaluation) {
        let key = evaluation.jobKey
        var open = openEvaluationsByJob[key] ?? []
        if evaluation.status == .pending || evaluation.status == .blocked {
            if open.insert(evaluation.id).inserted { openEvaluationsByJob[key] = open }
        } else if open.remove(evaluation.id) != nil {
            openEvaluationsByJob[key] = open.isEmpty ? nil : open
        }
        if evaluation.status == .blocked {
            blockedEvaluations[evaluation.id] = evaluation
        } else {
            blockedEvaluations[evaluation.id] = nil
        }
        evaluations[evaluation.id] = evaluation
    }
}

// MARK: - Events

/// One change to the state, as the event stream carries it: the value after
/// the change, kept as a value (it is encoded only for subscribers that want it).
public enum StateEvent: Sendable {
    case job(Job, String)
    case evaluation(Evaluation, String)
    case allocation(Allocation, String)
    case node(Node, String)

    /// "Job", "Evaluation", "Allocation", "Node".
    public var topic: String {
        switch self {
        case .job: "Job"
        case .evaluation: "Evaluation"
        case .allocation: "Allocation"
        case .node: "Node"
        }
    }

    /// What happened: "JobRegistered", "AllocationUpdated", ...
    public var type: String {
        switch self {
        case .job(_, let t), .evaluation(_, let t), .allocation(_, let t), .node(_, let t): t
        }
    }

    public var key: String {
        switch self {
        case .job(let j, _): j.spec.id
        case .evaluation(let e, _): e.id.rawValue
        case .allocation(let a, _): a.id.rawValue
        case .node(let n, _): n.id.rawValue
        }
    }

    /// Empty for nodes, which belong to no namespace.
    public var namespace: String {
        switch self {
        case .job(let j, _): j.spec.namespace
        case .evaluation(let e, _): e.namespace
        case .allocation(let a, _): a.namespace
        case .node: ""
        }
    }
}

// MARK: - Snapshot

extension ServerState {
    /// The whole state in a form that restores exactly.
    struct Image: Codable {
        var jobs: [JobRecord]
        var evaluations: [Evaluation]
        var evaluationModifyIndex: [EvaluationID: UInt64]
        var nodes: [Node]
        var nodeModifyIndex: [NodeID: UInt64]
        var allocations: [Allocation]
        var deployments: [Deployment]
        var members: [UInt64: MemberDescription]
        var appliedIndex: UInt64
        var idempotency: [String: IdempotentRegistration]
    }

    var image: Image {
        Image(
            jobs: jobs.values.sorted { $0.current.key < $1.current.key },
            evaluations: evaluations.values.sorted { $0.id < $1.id },
            evaluationModifyIndex: Dictionary(uniqueKeysWithValues: evaluationModifyIndex.lazy.map { ($0.key, $0.value) }),
            nodes: cluster.nodes, nodeModifyIndex: nodeModifyIndex, allocations: cluster.allocations.values.sorted { $0.id < $1.id },
            deployments: cluster.deployments.values.sorted { $0.jobKey < $1.jobKey },
            members: members, appliedIndex: appliedIndex,
            idempotency: Dictionary(uniqueKeysWithValues: idempotency.lazy.map { ($0.key, $0.value) }))
    }

    init(image: Image) {
        for record in image.jobs { jobs[record.current.key] = record }
        for evaluation in image.evaluations { record(evaluation) }
        evaluationModifyIndex = ShardedDictionary(image.evaluationModifyIndex.lazy.map { ($0.key, $0.value) })
        cluster = ClusterState(nodes: image.nodes, allocations: image.allocations, deployments: image.deployments)
        nodeModifyIndex = image.nodeModifyIndex
        members = image.members
        appliedIndex = image.appliedIndex
        idempotency = ShardedDictionary(image.idempotency.lazy.map { ($0.key, $0.value) })
    }
}
