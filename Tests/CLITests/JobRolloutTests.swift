import API
import Model
import Testing

/// The rollout state machine `job run` and `caravan run` wait on, fed by hand.
struct JobRolloutTests {
    static let key = JobKey(id: "web")

    static func evaluation(_ status: EvaluationStatus, id: EvaluationID = "e1", previous: EvaluationID? = nil, description: String = "") -> Evaluation {
        Evaluation(id: id, jobID: key.id, trigger: previous == nil ? .jobRegister : .queuedAllocations, status: status,
                   statusDescription: description, previousEvaluation: previous)
    }

    static func allocation(_ id: AllocationID, version: Int = 1, _ status: ClientStatus, next: AllocationID? = nil) -> Allocation {
        Allocation(id: id, jobID: key.id, jobVersion: version, group: "g", nodeID: "n1", resources: AllocatedResources(),
                   clientStatus: status, nextAllocation: next)
    }

    @Test func itSucceedsOnceEveryAllocationOfTheVersionRuns() {
        var rollout = JobRollout(jobKey: Self.key, evaluationID: "e1", jobVersion: 1, goal: .running)
        #expect(rollout.observe(Self.evaluation(.pending), at: 10) == [.evaluation(Self.evaluation(.pending), previous: nil)])
        #expect(rollout.outcome == nil)
        _ = rollout.observe(Self.evaluation(.complete), at: 11)
        let a = Self.allocation("a", .pending), b = Self.allocation("b", .pending)
        #expect(rollout.observe(a, at: 11) == [.allocationPlaced(a)])
        _ = rollout.observe(b, at: 11)
        #expect(rollout.outcome == nil, "both are pending")
        let aRunning = Self.allocation("a", .running)
        #expect(rollout.observe(aRunning, at: 12) == [.allocationStatus(aRunning, previous: .pending)])
        #expect(rollout.outcome == nil, "b is still pending")
        let bComplete = Self.allocation("b", .complete)
        _ = rollout.observe(bComplete, at: 13)
        #expect(rollout.outcome == .succeeded(allocations: [aRunning, bComplete]))
    }

    @Test func olderValuesOtherJobsAndOlderVersionsAreIgnored() {
        var rollout = JobRollout(jobKey: Self.key, evaluationID: "e1", jobVersion: 1, goal: .running)
        _ = rollout.observe(Self.evaluation(.complete), at: 11)
        #expect(rollout.observe(Self.evaluation(.pending), at: 10).isEmpty, "a stale read does not go back")
        #expect(rollout.evaluation?.status == .complete)
        #expect(rollout.observe(Self.allocation("old", version: 0, .running), at: 12).isEmpty)
        var other = Self.allocation("x", .pending)
        other.jobID = "db"
        #expect(rollout.observe(other, at: 12).isEmpty)
        _ = rollout.observe(Self.allocation("a", .running), at: 14)
        #expect(rollout.observe(Self.allocation("a", .pending), at: 13).isEmpty)
        #expect(rollout.outcome == .succeeded(allocations: [Self.allocation("a", .running)]))
    }

    @Test func aBlockedFollowUpEvaluationIsAPlacementFailure() {
        var rollout = JobRollout(jobKey: Self.key, evaluationID: "e1", jobVersion: 0, goal: .running)
        _ = rollout.observe(Self.evaluation(.pending), at: 5)
        let blocked = Self.evaluation(.blocked, id: "e2", previous: "e1", description: "group \"g\": 1 allocation not placed: no nodes")
        // An unrelated evaluation of the same job is not part of the rollout.
        #expect(rollout.observe(Self.evaluation(.blocked, id: "e9", previous: "e8"), at: 6).isEmpty)
        #expect(rollout.observe(blocked, at: 6) == [.evaluation(blocked, previous: nil)])
        #expect(rollout.outcome == nil, "the registration's evaluation is not complete yet")
        _ = rollout.observe(Self.evaluation(.complete), at: 6)
        #expect(rollout.outcome == .placementFailed(blocked: blocked, placed: []))
    }

    @Test func failedAllocationsAndFailedEvaluationsEndIt() {
        var rollout = JobRollout(jobKey: Self.key, evaluationID: "e1", jobVersion: 1, goal: .finished)
        _ = rollout.observe(Self.evaluation(.complete), at: 3)
        let replaced = Self.allocation("a", .failed, next: "b")
        _ = rollout.observe(replaced, at: 3)
        _ = rollout.observe(Self.allocation("b", .running), at: 4)
        #expect(rollout.outcome == nil, "finished waits for the replacement to end")
        let failed = Self.allocation("b", .failed)
        _ = rollout.observe(failed, at: 5)
        #expect(rollout.outcome == .allocationsFailed(failed: [failed], allocations: [failed]))

        var cancelled = JobRollout(jobKey: Self.key, evaluationID: "e1", jobVersion: 1, goal: .running)
        _ = cancelled.observe(Self.evaluation(.cancelled), at: 3)
        #expect(cancelled.outcome == .evaluationFailed(Self.evaluation(.cancelled)))
    }

    @Test func evaluatedNeedsOnlyTheEvaluation() {
        var rollout = JobRollout(jobKey: Self.key, evaluationID: "e1", jobVersion: .max, goal: .evaluated)
        _ = rollout.observe(Self.allocation("a", .running), at: 3)
        #expect(rollout.outcome == nil)
        _ = rollout.observe(Self.evaluation(.complete), at: 4)
        #expect(rollout.outcome == .succeeded(allocations: []))
    }
}
