import Testing
import Model
@testable import Scheduler

/// Candidate sampling: a placement ranks a bounded sample of feasible nodes
/// (2 for batch jobs, the power of two choices; ceil(log2 n), at least 2, for
/// the others; all when the group has affinities or spreads), drawn in a
/// seeded order, and walks on past the sample rather than fail while some
/// node fits.
@Suite struct CandidateSamplingTests {
    static func context(_ job: JobSpec, state: ClusterState, seed: UInt64 = 1,
                        configuration: SchedulerConfiguration = SchedulerConfiguration()) -> PlanContext {
        PlanContext(state: state, job: job, jobVersion: 0, evaluation: Fixture.evaluation(job), now: Fixture.t0,
                    configuration: configuration, rng: SeededGenerator(seed: seed))
    }

    static func cluster(_ n: Int) -> ClusterState {
        ClusterState(nodes: (0..<n).map { Fixture.node("n\($0)") })
    }

    static let linux = Constraint(attribute: "${attr.kernel.name}", value: "linux")
    static let rack = Affinity(attribute: "${node.class}", value: "fast", weight: 50)
    static let spreadDC = Spread(attribute: "${node.datacenter}", weight: 50)

    @Test(arguments: [
        // (type, nodes, configuration, affinities, spreads, feasible candidates ranked)
        (JobType.batch, 64, SchedulerConfiguration(), [Affinity](), [Spread](), 2),
        (.batch, 1000, SchedulerConfiguration(), [], [], 2),
        (.batch, 64, SchedulerConfiguration(batchCandidates: 3), [], [], 3),
        (.batch, 1, SchedulerConfiguration(), [], [], 1),
        (.service, 2, SchedulerConfiguration(), [], [], 2),
        (.service, 3, SchedulerConfiguration(), [], [], 2),
        (.service, 8, SchedulerConfiguration(), [], [], 3),
        (.service, 64, SchedulerConfiguration(), [], [], 6),
        (.service, 100, SchedulerConfiguration(), [], [], 7),
        (.service, 1000, SchedulerConfiguration(), [], [], 10),
        (.service, 64, SchedulerConfiguration(serviceCandidates: 4), [], [], 4),
        (.batch, 64, SchedulerConfiguration(), [rack], [], 64),
        (.service, 64, SchedulerConfiguration(), [], [spreadDC], 64),
    ])
    func onePlacementRanksABoundedSample(type: JobType, nodes: Int, configuration: SchedulerConfiguration,
                                         affinities: [Affinity], spreads: [Spread], ranked: Int) throws {
        let job = Fixture.job("j", type: type, affinities: affinities, spreads: spreads)
        for seed in UInt64(1)...5 {
            let context = Self.context(job, state: Self.cluster(nodes), seed: seed, configuration: configuration)
            let placed = context.place(PlacementRequest(group: "g", index: 0), group: job.groups[0])
            #expect(placed != nil, "seed \(seed)")
            #expect(context.candidatesRanked == ranked, "seed \(seed)")
        }
    }

    @Test(arguments: [(JobType.batch, 2), (.service, 6)])
    func eachPlacementRanksItsOwnSample(type: JobType, perPlacement: Int) throws {
        let job = Fixture.job("j", type: type, count: 8, cpu: 100, memory: 100)
        let context = Self.context(job, state: Self.cluster(64))
        for index in 0..<8 {
            #expect(context.place(PlacementRequest(group: "g", index: index), group: job.groups[0]) != nil)
        }
        #expect(context.candidatesRanked == 8 * perPlacement)
    }

    /// Infeasible nodes are skipped, not counted in the sample: only feasible
    /// nodes are ranked, and a placement goes to one.
    @Test(arguments: [JobType.batch, .service])
    func sampleHoldsOnlyFeasibleNodes(type: JobType) throws {
        // Of 64 nodes, one in four runs linux with room; the rest run
        // windows or are full.
        var nodes: [Node] = []
        for i in 0..<64 {
            switch i % 4 {
            case 0: nodes.append(Fixture.node("n\(i)"))
            case 1, 2: nodes.append(Fixture.node("n\(i)", attributes: ["kernel.name": "windows"]))
            default: nodes.append(Fixture.node("n\(i)", memory: 100))
            }
        }
        let state = ClusterState(nodes: nodes)
        let job = Fixture.job("j", type: type, constraints: [Self.linux])
        for seed in UInt64(1)...40 {
            let context = Self.context(job, state: state, seed: seed)
            let placed = try #require(context.place(PlacementRequest(group: "g", index: 0), group: job.groups[0]),
                                      "seed \(seed)")
            #expect(context.candidatesRanked == (type == .batch ? 2 : 6), "seed \(seed)")
            #expect(Int(placed.nodeID.rawValue.dropFirst())! % 4 == 0, "seed \(seed): placed on \(placed.nodeID)")
        }
    }

    /// With one feasible node, wherever the seeded order puts it, every seed
    /// finds it: the walk goes on past the sample rather than fail.
    @Test(arguments: [JobType.batch, .service])
    func loneFeasibleNodeIsFoundForEverySeed(type: JobType) throws {
        let nodes = (0..<64).map { i in
            i == 37 ? Fixture.node("n37")
                : (i % 2 == 0 ? Fixture.node("n\(i)", memory: 100) : Fixture.node("n\(i)", attributes: ["kernel.name": "windows"]))
        }
        let job = Fixture.job("j", type: type, constraints: [Self.linux])
        for seed in UInt64(1)...40 {
            let plan = try Fixture.plan(job, state: ClusterState(nodes: nodes), seed: seed)
            #expect(plan.placements.map(\.nodeID) == ["n37"], "seed \(seed)")
            #expect(plan.failedPlacements.isEmpty, "seed \(seed)")
        }
    }

    /// The sample bounds the choice: one node fits best (binpack prefers the
    /// half-full one), and a placement takes it only when it is sampled;
    /// ranking every node always takes it.
    @Test func sampledPlacementFindsTheBestNodeOnlySometimes() throws {
        var state = Self.cluster(32)
        state.upsert(Allocation(id: "other", jobID: "other", group: "g", nodeID: "n5",
                                resources: AllocatedResources(cpu: 2000, memoryMB: 4096), clientStatus: .running))
        func hits(_ type: JobType, _ configuration: SchedulerConfiguration = SchedulerConfiguration()) throws -> Int {
            var n = 0
            for seed in UInt64(1)...200 {
                let plan = try Fixture.plan(Fixture.job("j", type: type), state: state, seed: seed,
                                            configuration: configuration)
                if plan.placements.first?.nodeID == "n5" { n += 1 }
            }
            return n
        }
        let batch = try hits(.batch), service = try hits(.service)
        #expect(batch > 0 && batch < 200, "batch took the best node for \(batch) of 200 seeds")
        #expect(service > 0 && service < 200, "service took the best node for \(service) of 200 seeds")
        // 2 of 32 nodes against 5 of 32.
        #expect(batch < service)
        #expect(try hits(.batch, SchedulerConfiguration(batchCandidates: 32)) == 200)
        #expect(try hits(.service, SchedulerConfiguration(serviceCandidates: 32)) == 200)
    }

    @Test(arguments: [JobType.batch, .service])
    func sameSeedSameNodesOtherSeedsOthers(type: JobType) throws {
        let state = Self.cluster(32)
        let job = Fixture.job("j", type: type, count: 4, cpu: 100, memory: 100)
        var firstChoices: Set<NodeID> = []
        for seed in UInt64(1)...20 {
            let a = try Fixture.plan(job, state: state, seed: seed)
            let b = try Fixture.plan(job, state: state, seed: seed)
            #expect(a == b, "seed \(seed)")
            firstChoices.insert(a.placements[0].nodeID)
        }
        // Identical empty nodes tie: the seeded order decides.
        #expect(firstChoices.count >= 5, "20 seeds chose only \(firstChoices.sorted())")
    }
}
