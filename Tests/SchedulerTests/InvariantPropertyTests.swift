import Testing
import Model
@testable import Scheduler

/// Seeded random clusters and jobs; after each plan is applied, the
/// invariants hold: no node over-committed, hard constraints respected,
/// counts honoured, system jobs on every eligible node, preemption only of
/// lower priority. A failing seed is in the message, to replay.
@Suite struct InvariantPropertyTests {
    static let seeds: [UInt64] = Array(1...12)

    struct World {
        var state: ClusterState
        var jobs: [JobSpec] = []
    }

    static func randomWorld(seed: UInt64) -> (World, [JobSpec], SeededGenerator) {
        var rng = SeededGenerator(seed: seed)
        let nodeCount = Int.random(in: 5...40, using: &rng)
        var nodes: [Node] = []
        for i in 0..<nodeCount {
            var n = Fixture.node("n\(i)", dc: "dc\(Int.random(in: 1...3, using: &rng))",
                                 cpu: [2000, 4000, 8000].randomElement(using: &rng)!,
                                 memory: [1024, 4096, 16384].randomElement(using: &rng)!,
                                 attributes: ["kernel.name": Bool.random(using: &rng) ? "linux" : "windows",
                                              "rack": "r\(Int.random(in: 0..<4, using: &rng))"],
                                 datasets: Bool.random(using: &rng) ? ["d": Int64.random(in: 1...1 << 30, using: &rng)] : [:])
            if Int.random(in: 0..<10, using: &rng) == 0 { n.eligibility = .ineligible }
            if Int.random(in: 0..<15, using: &rng) == 0 { n.drain = true }
            nodes.append(n)
        }
        var jobs: [JobSpec] = []
        for j in 0..<Int.random(in: 3...8, using: &rng) {
            let type = JobType.allCases.randomElement(using: &rng)!
            var constraints: [Constraint] = []
            if Bool.random(using: &rng) { constraints.append(Constraint(attribute: "${attr.kernel.name}", value: "linux")) }
            if Int.random(in: 0..<4, using: &rng) == 0 { constraints.append(Constraint(operator: .distinctHosts)) }
            var inputs: [DataInput] = []
            if Int.random(in: 0..<4, using: &rng) == 0 {
                inputs.append(DataInput(name: "d", source: .dataset("d"),
                                        locality: Bool.random(using: &rng) ? .required : .preferred))
            }
            jobs.append(Fixture.job("j\(j)", type: type, count: type == .system || type == .sysbatch ? 1 : Int.random(in: 1...12, using: &rng),
                                    priority: Int.random(in: 1...100, using: &rng),
                                    cpu: Int.random(in: 100...1500, using: &rng),
                                    memory: Int.random(in: 64...3000, using: &rng), constraints: constraints,
                                    inputs: inputs))
        }
        return (World(state: ClusterState(nodes: nodes)), jobs, rng)
    }

    @Test(arguments: seeds)
    func invariantsHold(seed: UInt64) throws {
        var (world, jobs, rng) = Self.randomWorld(seed: seed)
        // Higher priority first, as the server's eval broker would.
        jobs.sort { $0.priority > $1.priority }
        for job in jobs {
            let before = world.state
            var r = SeededGenerator(seed: rng.next())
            let plan = try Scheduler().process(evaluation: Fixture.evaluation(job), job: Job(spec: job),
                                               state: before, now: Fixture.t0, rng: &r)
            world.state.apply(plan)
            check(plan: plan, job: job, before: before, after: world.state, seed: seed)
        }
        // Reconciling again changes nothing.
        for job in jobs {
            var r = SeededGenerator(seed: 7)
            let again = try Scheduler().process(evaluation: Fixture.evaluation(job), job: Job(spec: job),
                                                state: world.state, now: Fixture.t0, rng: &r)
            #expect(again.stops.isEmpty, "seed \(seed): job \(job.id) stops \(again.stops)")
        }
    }

    func check(plan: Plan, job: JobSpec, before: ClusterState, after: ClusterState, seed: UInt64) {
        // No node over-committed.
        for (i, node) in after.nodes.enumerated() {
            let u = after.usage[i]
            #expect(u.cpu <= node.resources.cpu && u.memoryMB <= node.resources.memoryMB,
                    "seed \(seed): node \(node.id) over-committed: \(u)")
        }
        let group = job.groups[0]
        for a in plan.placements {
            let node = after.node(a.nodeID)!
            // Hard constraints and node state.
            #expect(node.isSchedulable, "seed \(seed): placed on unschedulable \(node.id)")
            for c in job.constraints where !c.operator.isPlacementWide {
                #expect(CompiledConstraint(c).isMet(by: node), "seed \(seed): \(c) broken on \(node.id)")
            }
            for input in group.inputs where input.locality == .required {
                #expect(node.datasets[input.datasetName!] != nil, "seed \(seed): dataset missing on \(node.id)")
            }
            if job.constraints.contains(where: { $0.operator == .distinctHosts }) {
                let onNode = after.allocations(onNode: node.id).filter { $0.jobKey == job.key && $0.holdsResources }
                #expect(onNode.count == 1, "seed \(seed): distinct_hosts broken on \(node.id)")
            }
        }
        // Preemption only of lower priority, by at least 10.
        for p in plan.preemptions {
            #expect(p.jobPriority <= job.priority - 10, "seed \(seed): preempted priority \(p.jobPriority) for \(job.priority)")
        }
        let failed = plan.failedPlacements.reduce(0) { $0 + $1.count }
        let live = after.allocations(ofJob: job.key).filter(\.holdsResources)
        switch job.type {
        case .service, .batch:
            // Counts honoured: placed plus failed is the count.
            #expect(live.count + failed == group.count, "seed \(seed): job \(job.id) \(live.count)+\(failed) != \(group.count)")
            #expect(live.count <= group.count)
        case .system, .sysbatch:
            // Every eligible, feasible node has one (or the failure says why).
            let info = GroupPlacementInfo(job: job, group: group)
            let eligible = after.nodes.filter { info.staticFilterReason($0) == nil }
            let covered = Set(live.map(\.nodeID))
            #expect(covered.count == live.count, "seed \(seed): two system allocations on a node")
            #expect(covered.count + failed == eligible.count,
                    "seed \(seed): system job \(job.id) covers \(covered.count)+\(failed) of \(eligible.count)")
        }
    }
}
