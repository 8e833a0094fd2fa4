import Testing
import Model
@testable import Scheduler

@Suite struct ServiceReconcileTests {
    let nodes = (0..<6).map { Fixture.node("n\($0)") }

    @Test func keepsCountAndScalesDownFromHighestIndex() throws {
        var state = ClusterState(nodes: nodes)
        var job = Fixture.job("web", count: 4)
        try Fixture.run(job, state: &state)
        #expect(Fixture.live(state, job).count == 4)
        #expect(try Fixture.plan(job, state: state).isNoOp)
        job.groups[0].count = 2
        let down = try Fixture.run(job, version: 1, state: &state)
        #expect(down.stops.count == 2)
        #expect(down.placements.isEmpty)
        #expect(Set(Fixture.live(state, job).map(\.index)) == [0, 1])
        // Only count changed: the rest is updated in place to version 1.
        #expect(down.updates.count == 2)
        #expect(Fixture.live(state, job).allSatisfy { $0.jobVersion == 1 })
    }

    @Test func completedServiceAllocationIsReplaced() throws {
        var state = ClusterState(nodes: nodes)
        let job = Fixture.job("web", count: 1)
        let a = try Fixture.run(job, state: &state).placements[0]
        Fixture.update(&state, a.id) { $0.clientStatus = .complete }
        let p = try Fixture.plan(job, state: state)
        #expect(p.placements.count == 1)
    }

    @Test func destructiveUpdateWithoutUpdateBlockReplacesAll() throws {
        var state = ClusterState(nodes: nodes)
        var job = Fixture.job("web", count: 3)
        try Fixture.run(job, state: &state)
        job.groups[0].tasks[0].config["image"] = .string("web:2")
        let p = try Fixture.plan(job, version: 1, state: state)
        #expect(p.stops.count == 3)
        #expect(p.placements.count == 3)
        #expect(p.placements.allSatisfy { $0.jobVersion == 1 })
        #expect(p.desiredChanges["g"]?.destructiveUpdate == 3)
    }

    @Test func rollingUpdateRespectsMaxParallel() throws {
        var state = ClusterState(nodes: nodes)
        var job = Fixture.job("web", count: 5, update: UpdateStrategy(maxParallel: 2))
        try Fixture.run(job, state: &state)
        job.groups[0].tasks[0].config["image"] = .string("web:2")
        var now = Fixture.t0
        var rounds = 0
        while Fixture.live(state, job).contains(where: { $0.jobVersion != 1 }) {
            now = now + .seconds(30)
            let p = try Fixture.run(job, version: 1, state: &state, now: now)
            #expect(p.placements.count <= 2)
            #expect(p.deployment != nil || rounds > 0)
            // The client reports the new allocations healthy.
            for a in p.placements {
                Fixture.update(&state, a.id) { $0.deploymentStatus?.healthy = true }
            }
            rounds += 1
            #expect(rounds < 10)
            if rounds >= 10 { break }
        }
        #expect(rounds == 3)
        #expect(Fixture.live(state, job).count == 5)
        let final = try Fixture.run(job, version: 1, state: &state, now: now + .seconds(30))
        #expect(final.deployment?.status == .successful)
    }

    @Test func rollingUpdateWaitsForHealth() throws {
        var state = ClusterState(nodes: nodes)
        var job = Fixture.job("web", count: 4, update: UpdateStrategy(maxParallel: 1))
        try Fixture.run(job, state: &state)
        job.groups[0].tasks[0].config["image"] = .string("web:2")
        let p1 = try Fixture.run(job, version: 1, state: &state)
        #expect(p1.placements.count == 1)
        let p2 = try Fixture.run(job, version: 1, state: &state, now: Fixture.t0 + .seconds(5))
        #expect(p2.placements.isEmpty)
        #expect(p2.stops.isEmpty)
    }

    @Test func canaryPlacedThenPromoted() throws {
        var state = ClusterState(nodes: nodes)
        var job = Fixture.job("web", count: 3, update: UpdateStrategy(maxParallel: 3, canary: 1, autoPromote: true))
        try Fixture.run(job, state: &state)
        job.groups[0].tasks[0].config["image"] = .string("web:2")
        let p1 = try Fixture.run(job, version: 1, state: &state)
        #expect(p1.placements.count == 1)
        #expect(p1.placements[0].deploymentStatus?.canary == true)
        #expect(p1.stops.isEmpty)
        #expect(Fixture.live(state, job).count == 4)
        // Not healthy yet: nothing more happens.
        let p2 = try Fixture.plan(job, version: 1, state: state, now: Fixture.t0 + .seconds(5))
        #expect(p2.placements.isEmpty && p2.stops.isEmpty)
        // Healthy canary: auto-promoted, the rest rolls, the canary takes its slot.
        Fixture.update(&state, p1.placements[0].id) { $0.deploymentStatus?.healthy = true }
        let p3 = try Fixture.run(job, version: 1, state: &state, now: Fixture.t0 + .seconds(20))
        #expect(p3.deployment?.groups["g"]?.promoted == true)
        #expect(p3.placements.count == 2)
        #expect(p3.stops.count == 3)
        #expect(Fixture.live(state, job).count == 3)
        #expect(Fixture.live(state, job).allSatisfy { $0.jobVersion == 1 })
    }

    @Test func failedDeploymentAutoReverts() throws {
        var state = ClusterState(nodes: nodes)
        var job = Fixture.job("web", count: 2, update: UpdateStrategy(maxParallel: 1, autoRevert: true))
        try Fixture.run(job, state: &state)
        job.groups[0].tasks[0].config["image"] = .string("web:broken")
        let p1 = try Fixture.run(job, version: 1, state: &state)
        #expect(p1.deployment?.status == .running)
        #expect(p1.deployment?.revertVersion == 0)
        Fixture.update(&state, p1.placements[0].id) { $0.deploymentStatus?.healthy = false }
        let p2 = try Fixture.run(job, version: 1, state: &state, now: Fixture.t0 + .seconds(40))
        #expect(p2.deployment?.status == .failed)
        #expect(p2.revertToJobVersion == 0)
        #expect(p2.placements.isEmpty)
    }

    @Test func healthyDeadlineFailsDeployment() throws {
        var state = ClusterState(nodes: nodes)
        var job = Fixture.job("web", count: 2, update: UpdateStrategy(maxParallel: 1, healthyDeadline: .seconds(60)))
        try Fixture.run(job, state: &state)
        job.groups[0].tasks[0].config["image"] = .string("web:slow")
        let p1 = try Fixture.run(job, version: 1, state: &state)
        let p2 = try Fixture.plan(job, version: 1, state: state, now: Fixture.t0 + .seconds(30))
        #expect(p2.followUpEvaluations.contains { $0.waitUntil == Fixture.t0 + .seconds(60) && $0.trigger == .deploymentWatcher })
        let p3 = try Fixture.plan(job, version: 1, state: state, now: Fixture.t0 + .seconds(61))
        #expect(p3.deployment?.status == .failed)
        #expect(p3.revertToJobVersion == nil)
        _ = p1
    }

    @Test func removedGroupIsStopped() throws {
        var state = ClusterState(nodes: nodes)
        var job = Fixture.job("web", count: 2)
        try Fixture.run(job, state: &state)
        job.groups[0].name = "renamed"
        let p = try Fixture.plan(job, version: 1, state: state)
        #expect(p.stops.count == 2)
        #expect(p.stops.allSatisfy { $0.reason == "group g removed from job" })
        #expect(p.placements.count == 2)
    }
}

@Suite struct DisconnectTests {
    func setUp(replace: Bool = true, reconcile: ReconcileStrategy = .keepOriginal) throws
        -> (ClusterState, JobSpec, Allocation) {
        var state = ClusterState(nodes: (0..<3).map { Fixture.node("n\($0)") })
        let job = Fixture.job("web", count: 1, disconnect: DisconnectStrategy(lostAfter: .seconds(600), replace: replace,
                                                                             reconcile: reconcile))
        let a = try Fixture.run(job, state: &state).placements[0]
        Fixture.updateNode(&state, a.nodeID.rawValue) {
            $0.status = .disconnected
            $0.statusUpdatedAt = Fixture.t0 + .seconds(100)
        }
        return (state, job, a)
    }

    @Test func disconnectedAllocationBecomesUnknownAndIsReplaced() throws {
        var (state, job, a) = try setUp()
        let p = try Fixture.run(job, state: &state, now: Fixture.t0 + .seconds(110))
        #expect(p.updates.map(\.clientStatus) == [.unknown])
        #expect(p.placements.count == 1)
        #expect(p.placements[0].previousAllocation == a.id)
        #expect(p.stops.isEmpty)
        #expect(p.followUpEvaluations.map(\.waitUntil) == [Fixture.t0 + .seconds(700)])
        #expect(p.followUpEvaluations.first?.trigger == .maxDisconnectTimeout)
        // After lost_after the original is lost for good.
        let later = try Fixture.plan(job, state: state, now: Fixture.t0 + .seconds(701))
        #expect(later.stops.map(\.allocationID) == [a.id])
        #expect(later.stops.first?.clientStatus == .lost)
        #expect(later.placements.isEmpty)
    }

    @Test func withoutReplaceTheSlotWaits() throws {
        let (state, job, _) = try setUp(replace: false)
        let p = try Fixture.plan(job, state: state, now: Fixture.t0 + .seconds(110))
        #expect(p.placements.isEmpty)
        #expect(p.updates.count == 1)
    }

    @Test(arguments: [(ReconcileStrategy.keepOriginal, true), (.keepReplacement, false), (.bestScore, true),
                      (.longestRunning, true)])
    func reconnectKeepsOneByStrategy(strategy: ReconcileStrategy, keepsOriginal: Bool) throws {
        var (state, job, original) = try setUp(reconcile: strategy)
        let p1 = try Fixture.run(job, state: &state, now: Fixture.t0 + .seconds(110))
        let replacement = p1.placements[0]
        Fixture.updateNode(&state, original.nodeID.rawValue) { $0.status = .ready }
        let p2 = try Fixture.run(job, state: &state, now: Fixture.t0 + .seconds(200))
        #expect(p2.stops.map(\.allocationID) == [keepsOriginal ? replacement.id : original.id])
        let live = Fixture.live(state, job)
        #expect(live.count == 1)
        #expect(live[0].id == (keepsOriginal ? original.id : replacement.id))
        if keepsOriginal { #expect(live[0].clientStatus == .running) }
    }

    @Test func nodeDownWithoutDisconnectBlockIsLostAtOnce() throws {
        var state = ClusterState(nodes: (0..<3).map { Fixture.node("n\($0)") })
        let job = Fixture.job("web", count: 1)
        let a = try Fixture.run(job, state: &state).placements[0]
        Fixture.updateNode(&state, a.nodeID.rawValue) { $0.status = .disconnected }
        let p = try Fixture.plan(job, state: state)
        #expect(p.stops.first?.clientStatus == .lost)
        #expect(p.placements.count == 1)
    }
}
