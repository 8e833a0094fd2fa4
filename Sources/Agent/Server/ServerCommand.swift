import Model

/// A change to the replicated state, as one Raft entry carries it.
///
/// Everything a replica needs to apply a command deterministically is inside
/// it: ids and times are chosen by the proposer (the leader, or the server
/// that took the request), never at apply time.
public enum ServerCommand: Codable, Sendable, Hashable {
    /// Registers a job (a new version when its specification changed) and
    /// creates an evaluation for it.
    case registerJob(RegisterJob)
    /// Stops a job (all its allocations stop); with `purge`, removes it once stopped.
    case stopJob(StopJob)
    /// A plan the leader's applier checked against the state: allocations,
    /// stops, deployments, and the evaluation's outcome.
    case applyPlan(PlanResult)
    /// Creates or updates evaluations (new ones, blocked ones set back to pending, ...).
    case upsertEvaluations([Evaluation], at: Timestamp)
    /// Registers or changes a worker node (registration, heartbeat status,
    /// drain, eligibility) with the evaluations the change calls for.
    case updateNode(NodeUpdate)
    /// What a node reports about its allocations, in the order it observed it.
    case updateAllocations(AllocationUpdates)
    /// Records names and addresses of Raft members (the leader writes those
    /// of the bootstrap members, whose membership entries carry none).
    case describeMembers([MemberDescription])

    public struct RegisterJob: Codable, Sendable, Hashable {
        public var spec: JobSpec
        public var evaluationID: EvaluationID
        /// A retried submission with the same key returns the first result.
        public var idempotencyKey: String?
        public var at: Timestamp

        public init(spec: JobSpec, evaluationID: EvaluationID, idempotencyKey: String? = nil, at: Timestamp) {
            self.spec = spec
            self.evaluationID = evaluationID
            self.idempotencyKey = idempotencyKey
            self.at = at
        }

        // Every server decodes every registration. The specification is
        // written as its document tree (`spec`), which Packed reads by tag
        // (~15 µs; CodingThroughput). Entries of earlier versions carry it as
        // JSON text in `specJSON` (read ~1.6x slower), and are still read.
        private enum CodingKeys: String, CodingKey { case spec, specJSON, evaluationID, idempotencyKey, at }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            if let text = try c.decodeIfPresent(String.self, forKey: .specJSON) {
                spec = try JobSpec(document: SpecValue(json: text.utf8))
            } else {
                spec = try c.decode(JobSpec.self, forKey: .spec)
            }
            evaluationID = try c.decode(EvaluationID.self, forKey: .evaluationID)
            idempotencyKey = try c.decodeIfPresent(String.self, forKey: .idempotencyKey)
            at = try c.decode(Timestamp.self, forKey: .at)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(spec, forKey: .spec)
            try c.encode(evaluationID, forKey: .evaluationID)
            try c.encodeIfPresent(idempotencyKey, forKey: .idempotencyKey)
            try c.encode(at, forKey: .at)
        }
    }

    public struct StopJob: Codable, Sendable, Hashable {
        public var key: JobKey
        public var purge: Bool
        public var evaluationID: EvaluationID
        public var at: Timestamp
    }

    public struct NodeUpdate: Codable, Sendable, Hashable {
        public var node: Node
        /// For the jobs the change affects (a node down, draining, or a new
        /// node that system jobs must reach).
        public var evaluations: [Evaluation]
        public var at: Timestamp
    }

    public struct AllocationUpdates: Codable, Sendable, Hashable {
        /// The reporting node: updates for allocations elsewhere are ignored.
        public var nodeID: NodeID
        public var updates: [ClientAllocationUpdate]
        /// The ids, taken in order, of the evaluations that applying the
        /// updates calls for: one for each job whose allocation failed or came
        /// back from "unknown", decided on the state the entry meets. One per
        /// update that reports `failed` or `running`, the most there can be.
        public var evaluationIDs: [EvaluationID]
        /// Evaluations decided by the proposer, from its own state, in
        /// entries of earlier versions (none in new ones).
        public var evaluations: [Evaluation]
        public var at: Timestamp

        public init(nodeID: NodeID, updates: [ClientAllocationUpdate], evaluationIDs: [EvaluationID], at: Timestamp) {
            self.nodeID = nodeID
            self.updates = updates
            self.evaluationIDs = evaluationIDs
            self.evaluations = []
            self.at = at
        }

        /// How many evaluation ids `updates` may need.
        public static func evaluationIDsNeeded(by updates: [ClientAllocationUpdate]) -> Int {
            updates.count { $0.clientStatus == .failed || $0.clientStatus == .running }
        }

        private enum CodingKeys: String, CodingKey { case nodeID, updates, evaluationIDs, evaluations, at }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            nodeID = try c.decode(NodeID.self, forKey: .nodeID)
            updates = try c.decode([ClientAllocationUpdate].self, forKey: .updates)
            evaluationIDs = try c.decodeIfPresent([EvaluationID].self, forKey: .evaluationIDs) ?? []
            evaluations = try c.decodeIfPresent([Evaluation].self, forKey: .evaluations) ?? []
            at = try c.decode(Timestamp.self, forKey: .at)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(nodeID, forKey: .nodeID)
            try c.encode(updates, forKey: .updates)
            if !evaluationIDs.isEmpty { try c.encode(evaluationIDs, forKey: .evaluationIDs) }
            if !evaluations.isEmpty { try c.encode(evaluations, forKey: .evaluations) }
            try c.encode(at, forKey: .at)
        }
    }

    public struct PlanResult: Codable, Sendable, Hashable {
        /// The plan as the applier accepted it (placements on nodes that no
        /// longer fit are removed).
        public var plan: Plan
        /// The evaluation's final state: complete, or failed with why.
        public var evaluation: Evaluation
        public var at: Timestamp
    }
}

/// A server's name and address, as the replicated state keeps them.
public struct MemberDescription: Codable, Sendable, Hashable {
    public var id: UInt64
    public var name: String
    public var address: String

    public init(id: UInt64, name: String, address: String) {
        self.id = id
        self.name = name
        self.address = address
    }
}

/// What applying a command produced, handed back to its proposer.
public enum CommandOutcome: Sendable, Hashable {
    case jobRegistered(jobVersion: Int, evaluationID: EvaluationID?, index: UInt64, replayed: Bool)
    case jobStopped(evaluationID: EvaluationID?, index: UInt64)
    case planApplied(index: UInt64)
    case applied(index: UInt64)
    /// The command was valid when proposed but not against the state it met.
    case rejected(String)
    /// The entry could not be decoded: written by a newer version, or damaged.
    case undecodable(String)
}
