import Model

/// How nodes are ranked by resource fit.
public enum PlacementAlgorithm: String, Hashable, Codable, Sendable {
    /// Fill nodes up (fewer, fuller nodes): Nomad's default.
    case binpack
    /// Prefer emptier nodes.
    case spread
}

/// Cluster-wide scheduler settings (Nomad's scheduler configuration).
public struct SchedulerConfiguration: Hashable, Codable, Sendable {
    public var algorithm: PlacementAlgorithm
    /// Job types whose placements may evict lower-priority allocations.
    public var preemptionEnabled: Set<JobType>
    /// How much lower a priority must be to be preempted (Nomad: 10).
    public var preemptionPriorityDelta: Int
    /// Candidates ranked per batch placement (power of two choices).
    public var batchCandidates: Int
    /// Candidates ranked per service placement; nil: log2 of the node count.
    public var serviceCandidates: Int?
    /// Weight of data locality against the other scores (each weighs 1).
    public var dataLocalityWeight: Double
    /// Most dataset-holding nodes added as extra candidates per placement.
    public var maxDataLocalCandidates: Int

    public init(algorithm: PlacementAlgorithm = .binpack,
                preemptionEnabled: Set<JobType> = Set(JobType.allCases),
                preemptionPriorityDelta: Int = 10, batchCandidates: Int = 2, serviceCandidates: Int? = nil,
                dataLocalityWeight: Double = 2, maxDataLocalCandidates: Int = 64) {
        self.algorithm = algorithm
        self.preemptionEnabled = preemptionEnabled
        self.preemptionPriorityDelta = preemptionPriorityDelta
        self.batchCandidates = batchCandidates
        self.serviceCandidates = serviceCandidates
        self.dataLocalityWeight = dataLocalityWeight
        self.maxDataLocalCandidates = maxDataLocalCandidates
    }
}

/// Errors of ``Scheduler/process(evaluation:job:state:now:rng:)``.
public enum SchedulerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The job passed is not the evaluation's job.
    case jobMismatch(evaluation: JobKey, job: JobKey)

    public var description: String {
        switch self {
        case .jobMismatch(let e, let j):
            "evaluation is for job \(e) but job \(j) was passed; pass the evaluation's job (or nil if deregistered)"
        }
    }
}

/// 10^x for the scores, without a math library.
func pow10(_ x: Double) -> Double {
    // 10^x = e^(x ln 10); reduce to e^r with |r| <= ln2/2 and 2^k.
    let y = x * 2.302585092994046
    let k = (y / 0.6931471805599453).rounded()
    let r = y - k * 0.6931471805599453
    var term = 1.0, sum = 1.0
    for i in 1...12 {
        term *= r / Double(i)
        sum += term
    }
    var scale = 1.0
    let ki = Int(k)
    if ki >= 0 {
        for _ in 0..<ki { scale *= 2 }
    } else {
        for _ in 0..<(-ki) { scale /= 2 }
    }
    return sum * scale
}
