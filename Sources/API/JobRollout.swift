import Model

/// Follows one job registration to its outcome: the evaluation it created,
/// the allocations that evaluation placed, and their client statuses.
///
/// A pure state machine: feed it every evaluation and allocation you learn of
/// (from the event stream, or from reads) with the Raft index it is valid at;
/// it ignores values of other jobs and values older than what it holds, says
/// what changed, and has an ``outcome`` once the rollout is decided.
/// ``JobMonitor`` drives it from a cluster; tests drive it directly.
///
/// What it promises: the outcome is decided only from values observed, in
/// index order. It does not watch deployments: a rolling update that places
/// part of a group now and the rest later is "succeeded" once the allocations
/// of this version placed so far run.
public struct JobRollout: Sendable {
    /// When the rollout is over.
    public enum Goal: Sendable, Hashable {
        /// Every allocation of the registered version runs or has finished:
        /// what `caravan job run` waits for.
        case running
        /// Every allocation of the registered version has finished (complete,
        /// failed or lost): what a one-off batch run waits for.
        case finished
        /// The evaluation has been processed; allocations are not waited
        /// for: what `caravan job stop` waits for.
        case evaluated
    }

    /// Something the rollout observed for the first time.
    public enum Change: Sendable, Hashable {
        /// The registration's evaluation, or one that follows from it (a
        /// blocked evaluation waiting for capacity), appeared or changed status.
        case evaluation(Evaluation, previous: EvaluationStatus?)
        /// An allocation of the registered version appeared.
        case allocationPlaced(Allocation)
        /// An allocation's client status changed.
        case allocationStatus(Allocation, previous: ClientStatus)
    }

    /// How the rollout ended.
    public enum Outcome: Sendable, Hashable {
        /// Every allocation reached the goal without failing; `allocations`
        /// may be empty when the registration changed nothing.
        case succeeded(allocations: [Allocation])
        /// The goal was reached, but some allocations failed or were lost.
        case allocationsFailed(failed: [Allocation], allocations: [Allocation])
        /// The scheduler could not place every allocation: `blocked` waits for
        /// capacity, and its `statusDescription` says why per group.
        case placementFailed(blocked: Evaluation, placed: [Allocation])
        /// The evaluation failed or was cancelled (superseded).
        case evaluationFailed(Evaluation)
    }

    public let jobKey: JobKey
    public let evaluationID: EvaluationID
    /// The job version the registration created: allocations of older
    /// versions are not part of the rollout.
    public let jobVersion: Int
    public let goal: Goal

    private var evaluations: [EvaluationID: (value: Evaluation, index: UInt64)] = [:]
    private var allocationsByID: [AllocationID: (value: Allocation, index: UInt64)] = [:]

    /// A rollout of the registration that created `evaluationID` and `jobVersion` of `jobKey`.
    public init(jobKey: JobKey, evaluationID: EvaluationID, jobVersion: Int, goal: Goal) {
        self.jobKey = jobKey
        self.evaluationID = evaluationID
        self.jobVersion = jobVersion
        self.goal = goal
    }

    /// The registration's evaluation, once observed.
    public var evaluation: Evaluation? { evaluations[evaluationID]?.value }

    /// The allocations of the registered version, by name.
    public var allocations: [Allocation] {
        allocationsByID.values.map(\.value).sorted { ($0.name, $0.id) < ($1.name, $1.id) }
    }

    /// Takes in an evaluation valid at `index`; returns what changed.
    public mutating func observe(_ e: Evaluation, at index: UInt64) -> [Change] {
        guard e.jobKey == jobKey else { return [] }
        let related = e.id == evaluationID || e.previousEvaluation.map { evaluations[$0] != nil } == true
        guard related else { return [] }
        let previous = evaluations[e.id]
        if let previous, previous.index > index { return [] }
        evaluations[e.id] = (e, index)
        guard previous?.value.status != e.status else { return [] }
        return [.evaluation(e, previous: previous?.value.status)]
    }

    /// Takes in an allocation valid at `index`; returns what changed.
    public mutating func observe(_ a: Allocation, at index: UInt64) -> [Change] {
        guard a.jobKey == jobKey, a.jobVersion >= jobVersion else { return [] }
        let previous = allocationsByID[a.id]
        if let previous, previous.index > index { return [] }
        allocationsByID[a.id] = (a, index)
        guard let previous else { return [.allocationPlaced(a)] }
        guard previous.value.clientStatus != a.clientStatus else { return [] }
        return [.allocationStatus(a, previous: previous.value.clientStatus)]
    }

    /// The allocations that still count: not replaced by another.
    private var current: [Allocation] {
        allocations.filter { $0.nextAllocation == nil }
    }

    /// How the rollout ended; nil while it goes on.
    public var outcome: Outcome? {
        guard let evaluation else { return nil }
        switch evaluation.status {
        case .pending, .blocked:
            return nil
        case .failed, .cancelled:
            return .evaluationFailed(evaluation)
        case .complete:
            break
        }
        if let blocked = evaluations.values.map(\.value).filter({ $0.status == .blocked && $0.id != evaluationID })
            .max(by: { $0.createdAt < $1.createdAt })
        {
            return .placementFailed(blocked: blocked, placed: current)
        }
        let current = self.current
        let reached = current.allSatisfy { a in
            switch goal {
            case .running: a.clientStatus == .running || a.clientStatus.isTerminal
            case .finished: a.clientStatus.isTerminal
            case .evaluated: true
            }
        }
        guard reached else { return nil }
        let failed = current.filter { $0.clientStatus == .failed || $0.clientStatus == .lost }
        return failed.isEmpty ? .succeeded(allocations: current) : .allocationsFailed(failed: failed, allocations: current)
    }
}
