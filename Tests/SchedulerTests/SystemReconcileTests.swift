import Testing
import Model
@testable import Scheduler

@Suite struct SystemReconcileTests {
    @Test func placesOnEveryEligibleNodeOnly() throws {
        var nodes = (0..<5).map { Fixture.node("n\($0)") }
        nodes[1].eligibility = .ineligible
        nodes[2].attributes["kernel.name"] = "windows"
        nodes[3].drivers["exec"] = nil
        var state = ClusterState(nodes: nodes)
        let job = Fixture.job("logger", type: .system, constraints: [
            Constraint(attribute: "${attr.kernel.name}", value: "linux")])
        let p = try Fixture.run(job, state: &state)
        #expect(Set(p.placements.map(\.nodeID)) == ["n0", "n4"])
        #expect(p.failedPlacements.isEmpty)
        #expect(try Fixture.plan(job, state: state).isNoOp)
    }

    @Test func nodeJoiningLaterGetsAnAllocation() throws {
        var state = ClusterState(nodes: (0..<3).map { Fixture.node("n\($0)") })
        let job = Fixture.job("logger", type: .system)
        try Fixture.run(job, state: &state)
        state.upsert(Fixture.node("new"))
        let p = try Fixture.plan(job, state: state)
        #expect(p.placements.map(\.nodeID) == ["new"])
    }

    @Test func drainedAndDownNodesLoseTheirAllocation() throws {
        var state = ClusterState(nodes: (0..<3).map { Fixture.node("n\($0)") })
        let job = Fixture.job("logger", type: .system)
        try Fixture.run(job, state: &state)
        Fixture.updateNode(&state, "n0") { $0.drain = true }
        Fixture.updateNode(&state, "n1") { $0.status = .down }
        let p = try Fixture.plan(job, state: state)
        #expect(p.placements.isEmpty)
        #expect(Set(p.stops.map(\.nodeID)) == ["n0", "n1"])
        #expect(p.stops.first { $0.nodeID == "n1" }?.clientStatus == .lost)
    }

    @Test func nodeNoLongerFeasibleIsStoppedButIneligibleKeeps() throws {
        var state = ClusterState(nodes: (0..<3).map { Fixture.node("n\($0)") })
        let job = Fixture.job("logger", type: .system, constraints: [
            Constraint(attribute: "${attr.kernel.name}", value: "linux")])
        try Fixture.run(job, state: &state)
        Fixture.updateNode(&state, "n0") { $0.attributes["kernel.name"] = "darwin" }
        Fixture.updateNode(&state, "n1") { $0.eligibility = .ineligible }
        let p = try Fixture.plan(job, state: state)
        #expect(p.stops.map(\.nodeID) == ["n0"])
        #expect(p.stops[0].reason.contains("constraint ${attr.kernel.name} = linux"))
    }

    @Test func exhaustedNodeIsReportedAsFailure() throws {
        let state = ClusterState(nodes: [Fixture.node("big"), Fixture.node("small", memory: 128)])
        let p = try Fixture.plan(Fixture.job("logger", type: .system), state: state)
        #expect(p.placements.map(\.nodeID) == ["big"])
        #expect(p.failedPlacements.first?.explanation.exhausted == ["memory": 1])
        #expect(p.blockedEvaluation == nil)
    }

    @Test func sysbatchRunsOncePerNodePerVersion() throws {
        var state = ClusterState(nodes: (0..<3).map { Fixture.node("n\($0)") })
        var job = Fixture.job("gc", type: .sysbatch)
        let p1 = try Fixture.run(job, state: &state)
        #expect(p1.placements.count == 3)
        for a in p1.placements { Fixture.update(&state, a.id) { $0.clientStatus = .complete } }
        #expect(try Fixture.plan(job, state: state).isNoOp)
        state.upsert(Fixture.node("n3"))
        #expect(try Fixture.plan(job, state: state).placements.map(\.nodeID) == ["n3"])
        job.groups[0].tasks[0].config["args"] = .list([.string("--deep")])
        #expect(try Fixture.plan(job, version: 1, state: state).placements.count == 4)
    }

    @Test func systemUpdateReplacesOnSameNode() throws {
        var state = ClusterState(nodes: (0..<3).map { Fixture.node("n\($0)") })
        var job = Fixture.job("logger", type: .system)
        let p1 = try Fixture.run(job, state: &state)
        job.groups[0].tasks[0].config["image"] = .string("v2")
        let p2 = try Fixture.plan(job, version: 1, state: state)
        #expect(p2.stops.count == 3)
        #expect(p2.placements.count == 3)
        for placed in p2.placements {
            let old = try #require(p1.placements.first { $0.id == placed.previousAllocation })
            #expect(old.nodeID == placed.nodeID)
        }
    }
}

@Suite struct PreemptionTests {
    func fullCluster(priority: Int) throws -> (ClusterState, JobSpec) {
        var state = ClusterState(nodes: [Fixture.node("n0", memory: 1024), Fixture.node("n1", memory: 1024)])
        let low = Fixture.job("low", type: .batch, count: 4, priority: priority, memory: 500)
        try Fixture.run(low, state: &state)
        #expect(Fixture.live(state, low).count == 4)
        return (state, low)
    }

    @Test func higherPriorityEvictsLowerPriority() throws {
        let (state, low) = try fullCluster(priority: 30)
        let high = Fixture.job("high", count: 1, priority: 80, memory: 900)
        let p = try Fixture.plan(high, state: state)
        #expect(p.placements.count == 1)
        #expect(p.preemptions.count == 2)
        #expect(p.preemptions.allSatisfy { $0.jobKey == low.key && $0.jobPriority == 30 })
        #expect(p.preemptions.allSatisfy { $0.preemptedBy == p.placements[0].id })
        #expect(p.preemptions.allSatisfy { $0.nodeID == p.placements[0].nodeID })
        var after = state
        after.apply(p)
        #expect(Fixture.live(after, low).count == 2)
        #expect(after.allocations[p.preemptions[0].allocationID]?.desiredStatus == .evict)
    }

    @Test func priorityWithinTenIsNotPreempted() throws {
        let (state, _) = try fullCluster(priority: 45)
        let p = try Fixture.plan(Fixture.job("high", count: 1, priority: 54, memory: 900), state: state)
        #expect(p.preemptions.isEmpty)
        #expect(p.placements.isEmpty)
        #expect(p.failedPlacements.first?.explanation.exhausted == ["memory": 2])
    }

    @Test func preemptionCanBeDisabled() throws {
        let (state, _) = try fullCluster(priority: 10)
        let p = try Fixture.plan(Fixture.job("high", count: 1, priority: 90, memory: 900), state: state,
                                 configuration: SchedulerConfiguration(preemptionEnabled: []))
        #expect(p.preemptions.isEmpty)
        #expect(p.placements.isEmpty)
    }
}
