import Testing
import Model
@testable import Scheduler

/// Seeded churn: nodes go down, drain, come back and join; allocations fail
/// and complete; every job is re-evaluated each round. After every plan:
/// no node over-committed, no placement on an unschedulable node, no group
/// above its count, and system jobs cover every eligible node.
@Suite struct ChurnPropertyTests {
    @Test(arguments: Array(UInt64(1)...8))
    func invariantsHoldUnderChurn(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        var state = ClusterState(nodes: (0..<12).map { Fixture.node("n\($0)", memory: 4096) })
        let jobs = [
            Fixture.job("svc", count: 5, priority: 60, memory: 700,
                        disconnect: DisconnectStrategy(lostAfter: .seconds(120))),
            Fixture.job("bat", type: .batch, count: 6, priority: 40, memory: 500),
            Fixture.job("sys", type: .system, priority: 80, cpu: 100, memory: 128),
        ]
        var now = Fixture.t0
        for round in 0..<25 {
            now = now + .seconds(40)
            // Churn.
            let pick = "n\(Int.random(in: 0..<12, using: &rng))"
            switch Int.random(in: 0..<6, using: &rng) {
            case 0: Fixture.updateNode(&state, pick) { $0.status = .down; $0.statusUpdatedAt = now }
            case 1: Fixture.updateNode(&state, pick) { $0.status = .disconnected; $0.statusUpdatedAt = now }
            case 2: Fixture.updateNode(&state, pick) { $0.drain.toggle() }
            case 3: Fixture.updateNode(&state, pick) { $0.status = .ready; $0.drain = false }
            case 4: state.upsert(Fixture.node("late\(round)", memory: 4096))
            default: break
            }
            let live = state.allocations.values.filter(\.holdsResources).sorted { $0.id < $1.id }
            if let victim = live.randomElement(using: &rng) {
                Fixture.update(&state, victim.id) {
                    $0.clientStatus = Bool.random(using: &rng) ? .failed : .complete
                    $0.modifiedAt = now
                }
            }
            for job in jobs {
                var r = SeededGenerator(seed: rng.next())
                let plan = try Scheduler().process(evaluation: Fixture.evaluation(job), job: Job(spec: job),
                                                   state: state, now: now, rng: &r)
                state.apply(plan, at: now)
                for a in plan.placements {
                    #expect(state.node(a.nodeID)!.isSchedulable, "seed \(seed) round \(round): placed on \(a.nodeID)")
                    Fixture.update(&state, a.id) { $0.clientStatus = .running }
                }
                for (i, node) in state.nodes.enumerated() {
                    #expect(state.usage[i].memoryMB <= node.resources.memoryMB,
                            "seed \(seed) round \(round): \(node.id) over-committed")
                    #expect(state.unfinishedAllocations(onNode: node.id).map(\.id)
                                == state.allocations(onNode: node.id).filter { !$0.clientStatus.isTerminal }.map(\.id),
                            "seed \(seed) round \(round): \(node.id)'s unfinished-allocation index is stale")
                    #expect(state.lowestUnfinishedPriority(onNode: node.id)
                                == state.unfinishedAllocations(onNode: node.id).map(\.jobPriority).min(),
                            "seed \(seed) round \(round): \(node.id)'s priority index is stale")
                }
                let running = state.allocations(ofJob: job.key).filter {
                    $0.desiredStatus == .run && !$0.clientStatus.isTerminal
                }
                switch job.type {
                case .service, .batch:
                    let onReadyNodes = running.filter { state.node($0.nodeID)?.status == .ready }
                    #expect(onReadyNodes.count <= job.groups[0].count,
                            "seed \(seed) round \(round): \(job.id) runs \(onReadyNodes.count)")
                case .system, .sysbatch:
                    let failed = plan.failedPlacements.reduce(0) { $0 + $1.count }
                    let eligible = state.nodes.filter(\.isSchedulable)
                    let covered = Set(running.map(\.nodeID)).union(
                        state.allocations(ofJob: job.key).filter { $0.clientStatus.isTerminal && $0.desiredStatus == .run }
                            .map(\.nodeID))
                    for node in eligible where !covered.contains(node.id) {
                        #expect(failed > 0, "seed \(seed) round \(round): system job misses \(node.id)")
                    }
                }
            }
        }
    }
}
