import Testing
import Model
@testable import Scheduler

@Suite struct RankingTests {
    /// A node "busy" already half full and a node "idle" empty.
    func halfFullCluster() -> ClusterState {
        var state = ClusterState(nodes: [Fixture.node("busy"), Fixture.node("idle")])
        state.upsert(Allocation(id: "other", jobID: "other", group: "g", nodeID: "busy",
                                resources: AllocatedResources(cpu: 2000, memoryMB: 4096), clientStatus: .running))
        return state
    }

    @Test func binpackPrefersFullerNode() throws {
        let plan = try Fixture.plan(Fixture.job("j"), state: halfFullCluster())
        #expect(plan.placements.map(\.nodeID) == ["busy"])
    }

    @Test func spreadAlgorithmPrefersEmptierNode() throws {
        let plan = try Fixture.plan(Fixture.job("j"), state: halfFullCluster(),
                                    configuration: SchedulerConfiguration(algorithm: .spread))
        #expect(plan.placements.map(\.nodeID) == ["idle"])
    }

    @Test(arguments: [(100, "idle"), (-100, "busy")])
    func affinityWeightsAttractAndRepel(weight: Int, expected: String) throws {
        var state = halfFullCluster()
        Fixture.updateNode(&state, "idle") { $0.nodeClass = "fast" }
        let job = Fixture.job("j", affinities: [Affinity(attribute: "${node.class}", value: "fast", weight: weight)])
        let plan = try Fixture.plan(job, state: state)
        #expect(plan.placements.map(\.nodeID.rawValue) == [expected])
    }

    @Test func jobAntiAffinitySpreadsInstances() throws {
        let state = ClusterState(nodes: (0..<3).map { Fixture.node("n\($0)") })
        let plan = try Fixture.plan(Fixture.job("j", count: 3), state: state)
        #expect(Set(plan.placements.map(\.nodeID)).count == 3)
    }

    @Test func spreadTargetsAreHonoured() throws {
        let nodes = (0..<4).map { Fixture.node("a\($0)", dc: "dc1") } + (0..<4).map { Fixture.node("b\($0)", dc: "dc2") }
        let job = Fixture.job("j", count: 8, cpu: 100, memory: 100, spreads: [
            Spread(attribute: "${node.datacenter}", weight: 100,
                   targets: [SpreadTarget(value: "dc1", percent: 75), SpreadTarget(value: "dc2", percent: 25)])])
        let state = ClusterState(nodes: nodes)
        let plan = try Fixture.plan(job, state: state)
        let dcs = plan.placements.map { state.node($0.nodeID)!.datacenter }
        #expect(dcs.filter { $0 == "dc1" }.count == 6)
        #expect(dcs.filter { $0 == "dc2" }.count == 2)
    }

    @Test func evenSpreadWithoutTargets() throws {
        let nodes = (0..<9).map { Fixture.node("n\($0)", dc: "dc\($0 % 3)") }
        let job = Fixture.job("j", count: 6, cpu: 100, memory: 100,
                              spreads: [Spread(attribute: "${node.datacenter}", weight: 100)])
        let state = ClusterState(nodes: nodes)
        let plan = try Fixture.plan(job, state: state)
        var perDC: [String: Int] = [:]
        for a in plan.placements { perDC[state.node(a.nodeID)!.datacenter, default: 0] += 1 }
        #expect(perDC == ["dc0": 2, "dc1": 2, "dc2": 2])
    }

    @Test func dataLocalityPrefersNodesWithMostBytes() throws {
        let nodes = (0..<200).map { i in
            Fixture.node("n\(i)", datasets: i == 42 ? ["emb": 8 << 30] : (i == 43 ? ["emb": 1 << 30] : [:]))
        }
        let job = Fixture.job("j", type: .batch, count: 1, inputs: [
            DataInput(name: "e", source: .dataset("emb"), locality: .preferred)])
        for seed in UInt64(1)...5 {
            let plan = try Fixture.plan(job, state: ClusterState(nodes: nodes), seed: seed)
            #expect(plan.placements.map(\.nodeID) == ["n42"], "seed \(seed)")
        }
    }

    @Test func dataLocalityFallsBackWhenHolderIsFull() throws {
        let nodes = [Fixture.node("holder", memory: 100, datasets: ["emb": 1 << 30]), Fixture.node("other")]
        let job = Fixture.job("j", type: .batch, inputs: [DataInput(name: "e", source: .dataset("emb"))])
        let plan = try Fixture.plan(job, state: ClusterState(nodes: nodes))
        #expect(plan.placements.map(\.nodeID) == ["other"])
    }

    @Test func sameSeedSamePlan() throws {
        let state = ClusterState(nodes: (0..<50).map { Fixture.node("n\($0)") })
        let job = Fixture.job("j", type: .batch, count: 20, cpu: 300, memory: 300)
        let a = try Fixture.plan(job, state: state, seed: 9)
        let b = try Fixture.plan(job, state: state, seed: 9)
        let c = try Fixture.plan(job, state: state, seed: 10)
        #expect(a == b)
        #expect(a.placements.map(\.id) != c.placements.map(\.id))
    }

    @Test func rescheduledAllocationAvoidsPreviousNode() throws {
        var state = ClusterState(nodes: [Fixture.node("a"), Fixture.node("b")])
        let job = Fixture.job("j", type: .batch)
        let p = try Fixture.run(job, state: &state)
        let first = p.placements[0]
        Fixture.update(&state, first.id) { $0.clientStatus = .failed; $0.modifiedAt = Fixture.t0 }
        let p2 = try Fixture.plan(job, state: state, now: Fixture.t0 + .seconds(10))
        #expect(p2.placements.count == 1)
        #expect(p2.placements[0].nodeID != first.nodeID)
    }
}
