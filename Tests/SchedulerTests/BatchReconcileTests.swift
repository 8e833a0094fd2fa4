import Testing
import Model
@testable import Scheduler

@Suite struct BatchReconcileTests {
    let nodes = (0..<4).map { Fixture.node("n\($0)") }

    @Test func placesCountAndDoesNotRerunCompleted() throws {
        var state = ClusterState(nodes: nodes)
        let job = Fixture.job("b", type: .batch, count: 3)
        let p1 = try Fixture.run(job, state: &state)
        #expect(p1.placements.count == 3)
        #expect(Set(p1.placements.map(\.index)) == [0, 1, 2])
        #expect(p1.placements.allSatisfy { $0.name.hasPrefix("b.g[") })
        for a in p1.placements { Fixture.update(&state, a.id) { $0.clientStatus = .complete } }
        let p2 = try Fixture.plan(job, state: state)
        #expect(p2.isNoOp)
    }

    @Test func failedAllocationWaitsForDelayThenReschedules() throws {
        var state = ClusterState(nodes: nodes)
        let job = Fixture.job("b", type: .batch)
        let first = try Fixture.run(job, state: &state).placements[0]
        Fixture.update(&state, first.id) { $0.clientStatus = .failed; $0.modifiedAt = Fixture.t0 }
        // Batch default: 5 s constant delay.
        let early = try Fixture.plan(job, state: state, now: Fixture.t0 + .seconds(2))
        #expect(early.placements.isEmpty)
        #expect(early.followUpEvaluations.map(\.waitUntil) == [Fixture.t0 + .seconds(5)])
        #expect(early.followUpEvaluations.first?.trigger == .rescheduleLater)
        let due = try Fixture.run(job, state: &state, now: Fixture.t0 + .seconds(5))
        #expect(due.placements.count == 1)
        let replacement = due.placements[0]
        #expect(replacement.previousAllocation == first.id)
        #expect(replacement.rescheduleTracker.count == 1)
        #expect(state.allocations[first.id]?.nextAllocation == replacement.id)
        // One attempt in 24 h: a second failure is final.
        Fixture.update(&state, replacement.id) { $0.clientStatus = .failed; $0.modifiedAt = Fixture.t0 + .seconds(6) }
        let final = try Fixture.plan(job, state: state, now: Fixture.t0 + .seconds(60))
        #expect(final.placements.isEmpty)
        #expect(final.followUpEvaluations.isEmpty)
    }

    @Test func exponentialBackoffGrows() {
        let policy = ReschedulePolicy.defaults(for: .service)
        #expect(policy.delay(forAttempt: 0, previousDelays: []) == .seconds(30))
        #expect(policy.delay(forAttempt: 1, previousDelays: [.seconds(30)]) == .seconds(60))
        #expect(policy.delay(forAttempt: 9, previousDelays: [.seconds(2400)]) == .seconds(3600))
        var fib = policy
        fib.delayFunction = .fibonacci
        #expect(fib.delay(forAttempt: 2, previousDelays: [.seconds(30), .seconds(30)]) == .seconds(60))
        #expect(fib.delay(forAttempt: 3, previousDelays: [.seconds(30), .seconds(60)]) == .seconds(90))
    }

    @Test func lostAllocationIsReplacedElsewhere() throws {
        var state = ClusterState(nodes: nodes)
        let job = Fixture.job("b", type: .batch, count: 2)
        let placed = try Fixture.run(job, state: &state).placements
        let victim = placed[0]
        Fixture.updateNode(&state, victim.nodeID.rawValue) { $0.status = .down }
        let p = try Fixture.run(job, state: &state, now: Fixture.t0 + .seconds(1))
        #expect(p.stops.map(\.allocationID) == [victim.id])
        #expect(p.stops[0].clientStatus == .lost)
        #expect(p.placements.count == 1)
        #expect(p.placements[0].nodeID != victim.nodeID)
        #expect(p.placements[0].index == victim.index)
        #expect(p.stops[0].replacement == p.placements[0].id)
        #expect(Fixture.live(state, job).count == 2)
    }

    @Test func drainingNodeMigrates() throws {
        var state = ClusterState(nodes: nodes)
        let job = Fixture.job("b", type: .batch)
        let a = try Fixture.run(job, state: &state).placements[0]
        Fixture.updateNode(&state, a.nodeID.rawValue) { $0.drain = true }
        let p = try Fixture.plan(job, state: state)
        #expect(p.stops.first?.reason == "node draining")
        #expect(p.placements.count == 1)
        #expect(p.desiredChanges["g"]?.migrate == 1)
    }

    @Test func stoppedJobStopsEverything() throws {
        var state = ClusterState(nodes: nodes)
        let spec = Fixture.job("b", type: .batch, count: 3)
        try Fixture.run(spec, state: &state)
        var rng = SeededGenerator(seed: 1)
        let p = try Scheduler().process(evaluation: Fixture.evaluation(spec, trigger: .jobDeregister), job: nil,
                                        state: state, now: Fixture.t0, rng: &rng)
        #expect(p.stops.count == 3)
        #expect(p.placements.isEmpty)
    }

    @Test func mismatchedJobIsAnError() {
        var rng = SeededGenerator(seed: 1)
        #expect(throws: SchedulerError.self) {
            try Scheduler().process(evaluation: Fixture.evaluation(Fixture.job("a")), job: Job(spec: Fixture.job("b")),
                                    state: ClusterState(), now: Fixture.t0, rng: &rng)
        }
    }

    @Test func restartPolicyDecidesInPlaceRestarts() {
        let policy = RestartPolicy.defaults(for: .batch)
        let start = Fixture.t0
        var tracker = RestartTracker(policy: policy)
        #expect(tracker.taskFailed(at: start) == .restart(after: .seconds(15)))
        #expect(tracker.taskFailed(at: start + .seconds(60)) == .restart(after: .seconds(15)))
        #expect(tracker.taskFailed(at: start + .seconds(120)) == .restart(after: .seconds(15)))
        #expect(tracker.taskFailed(at: start + .seconds(180)) == .fail)
        var delayed = RestartTracker(policy: RestartPolicy(attempts: 1, interval: .seconds(600), delay: .seconds(5),
                                                           mode: .delay))
        #expect(delayed.taskFailed(at: start) == .restart(after: .seconds(5)))
        #expect(delayed.taskFailed(at: start + .seconds(10)) == .restart(after: .seconds(590)))
    }
}
