import Testing
import Model
@testable import Scheduler

/// Seeded clusters filled with allocations of jobs at mixed priorities; then
/// higher-priority jobs need room. After every plan: each eviction is of a
/// job at least 10 priorities lower and is named in the plan beside the
/// placement it made room for; no node is over-committed once the evictions
/// apply; and nothing is evicted while the job fits without it. A failing
/// seed is in the message, to replay.
@Suite struct PreemptionPropertyTests {
    static let seeds: [UInt64] = Array(1...24)

    /// What one seed exercised, so that a test can check the property was
    /// not vacuous.
    struct Tally {
        var plans = 0
        var preemptions = 0
        /// Plans that placed everything without evicting anything.
        var fitWithout = 0
        /// Plans with a placement that found no room and evicted nothing.
        var failedWithoutEviction = 0
    }

    @Test(arguments: seeds)
    func preemptionInvariantsHold(seed: UInt64) throws {
        _ = try Self.run(seed: seed)
    }

    @Test func propertyExercisesEvictionsAndTheirAbsence() throws {
        var total = Tally()
        for seed in Self.seeds {
            let t = try Self.run(seed: seed)
            total.plans += t.plans
            total.preemptions += t.preemptions
            total.fitWithout += t.fitWithout
            total.failedWithoutEviction += t.failedWithoutEviction
        }
        #expect(total.preemptions >= 100, "only \(total.preemptions) evictions in \(total.plans) plans")
        #expect(total.fitWithout >= 10, "only \(total.fitWithout) plans fitting without eviction")
        #expect(total.failedWithoutEviction >= 10, "only \(total.failedWithoutEviction) plans failing without eviction")
    }

    /// Fills a seeded cluster, then schedules the higher-priority jobs one by
    /// one, checking each plan.
    static func run(seed: UInt64) throws -> Tally {
        var rng = SeededGenerator(seed: seed)
        var state = filledCluster(rng: &rng)
        var tally = Tally()
        let types: [JobType] = [.service, .batch, .system]
        for j in 0..<Int.random(in: 3...6, using: &rng) {
            let type = types.randomElement(using: &rng)!
            let constraints = Bool.random(using: &rng)
                ? [Constraint(attribute: "${attr.kernel.name}", value: "linux")] : []
            let job = Fixture.job("urgent\(j)", type: type,
                                  count: type == .system ? 1 : Int.random(in: 1...6, using: &rng),
                                  priority: Int.random(in: 20...100, using: &rng),
                                  cpu: Int.random(in: 200...2500, using: &rng),
                                  memory: Int.random(in: 256...3000, using: &rng), constraints: constraints)
            let planSeed = rng.next()
            let before = state
            let plan = try Fixture.plan(job, state: before, seed: planSeed)
            let without = try Fixture.plan(job, state: before, seed: planSeed,
                                           configuration: SchedulerConfiguration(preemptionEnabled: []))
            check(plan, without: without, job: job, before: before, tag: "seed \(seed), job \(job.id) (\(type), priority \(job.priority))")
            tally.plans += 1
            tally.preemptions += plan.preemptions.count
            if without.failedPlacements.isEmpty { tally.fitWithout += 1 }
            if !plan.failedPlacements.isEmpty && plan.preemptions.isEmpty { tally.failedWithoutEviction += 1 }
            state.apply(plan, at: Fixture.t0)
            for a in plan.placements { Fixture.update(&state, a.id) { $0.clientStatus = .running } }
        }
        return tally
    }

    /// 3 to 16 nodes, each given up to 12 tries at an allocation of one of
    /// six filler jobs (each job at its own priority, 1…70): most are left
    /// full, some with room.
    static func filledCluster(rng: inout SeededGenerator) -> ClusterState {
        let nodeCount = Int.random(in: 3...16, using: &rng)
        var nodes: [Node] = []
        for i in 0..<nodeCount {
            nodes.append(Fixture.node("n\(i)", cpu: [2000, 4000, 8000].randomElement(using: &rng)!,
                                      memory: [2048, 4096, 8192].randomElement(using: &rng)!,
                                      attributes: ["kernel.name": Int.random(in: 0..<4, using: &rng) == 0 ? "windows" : "linux"]))
        }
        var state = ClusterState(nodes: nodes)
        let fillerPriorities = (0..<6).map { _ in Int.random(in: 1...70, using: &rng) }
        var k = 0
        for i in state.nodes.indices {
            for _ in 0..<Int.random(in: 1...12, using: &rng) {
                let filler = Int.random(in: 0..<6, using: &rng)
                let cpu = Int.random(in: 100...1500, using: &rng), memory = Int.random(in: 128...2048, using: &rng)
                let u = state.usage[i], cap = state.capacity[i]
                guard u.cpu + cpu <= cap.cpu, u.memoryMB + memory <= cap.memoryMB else { continue }
                state.upsert(Allocation(id: AllocationID("fill-\(k)"), index: k, jobID: "filler\(filler)",
                                        jobType: .batch, jobPriority: fillerPriorities[filler], group: "g",
                                        nodeID: state.nodes[i].id,
                                        resources: AllocatedResources(cpu: cpu, memoryMB: memory),
                                        clientStatus: .running))
                k += 1
            }
        }
        return state
    }

    /// The preemption invariants of `plan`, made on `before`; `without` is the
    /// plan for the same job, state and seed with preemption disabled.
    static func check(_ plan: Plan, without: Plan, job: JobSpec, before: ClusterState, tag: String) {
        let placed = Dictionary(uniqueKeysWithValues: plan.placements.map { ($0.id, $0) })
        var named = Set<AllocationID>()
        for p in plan.preemptions {
            #expect(named.insert(p.allocationID).inserted, "\(tag): \(p.allocationID) evicted twice")
            // Only of lower priority, by at least 10; the plan names the victim truly.
            #expect(p.jobPriority <= job.priority - 10,
                    "\(tag): evicted priority \(p.jobPriority) for priority \(job.priority)")
            guard let victim = before.allocations[p.allocationID] else {
                Issue.record("\(tag): evicted \(p.allocationID), which is not in the cluster")
                continue
            }
            #expect(victim.jobPriority == p.jobPriority && victim.jobKey == p.jobKey && victim.nodeID == p.nodeID,
                    "\(tag): preemption \(p) misnames \(victim.jobKey) priority \(victim.jobPriority) on \(victim.nodeID)")
            #expect(victim.jobPriority <= job.priority - 10,
                    "\(tag): evicted \(victim.id) of priority \(victim.jobPriority) for priority \(job.priority)")
            #expect(victim.holdsResources, "\(tag): evicted \(victim.id), which held nothing")
            #expect(victim.jobKey != job.key, "\(tag): evicted its own allocation \(victim.id)")
            // Beside the placement it made room for, on that placement's node.
            #expect(placed[p.preemptedBy]?.nodeID == p.nodeID,
                    "\(tag): \(p.allocationID) evicted for \(p.preemptedBy), not a placement on \(p.nodeID)")
        }

        var after = before
        after.apply(plan, at: Fixture.t0)
        // Every eviction is named in the plan, and only those.
        let evicted = Set(after.allocations.values.filter {
            $0.desiredStatus == .evict && before.allocations[$0.id]?.desiredStatus != .evict
        }.map(\.id))
        #expect(evicted == named, "\(tag): evicted \(evicted.sorted()) but the plan names \(named.sorted())")
        // No node over-committed after the evictions.
        for (i, node) in after.nodes.enumerated() {
            let u = after.usage[i], cap = after.capacity[i]
            #expect(u.cpu <= cap.cpu && u.memoryMB <= cap.memoryMB, "\(tag): node \(node.id) over-committed: \(u)")
        }
        #expect(PlanVerifier.verify(plan, against: before).isComplete, "\(tag): the plan applier would refuse part")
        // Counts honoured: evictions never place more than the count.
        if job.type == .service || job.type == .batch {
            let failed = plan.failedPlacements.reduce(0) { $0 + $1.count }
            #expect(plan.placements.count + failed == job.groups[0].count,
                    "\(tag): \(plan.placements.count) placed + \(failed) failed != \(job.groups[0].count)")
        }

        // Nothing evicted while the job fits without it: the plan is then the
        // plan made with preemption disabled.
        if without.failedPlacements.isEmpty {
            #expect(plan.preemptions.isEmpty, "\(tag): evicted \(plan.preemptions.count) though the job fits")
            #expect(plan == without, "\(tag): preemption changed a plan that fits without it")
        }
        // And per placement: those that fit without evicting are the same
        // with preemption disabled; evictions start only where that plan
        // fails (a failed service or batch group places no more).
        let preempting = Set(plan.preemptions.map(\.preemptedBy))
        if job.type == .system || job.type == .sysbatch {
            // (A system placement is known by its node; ids differ once an
            // eviction drew from the generator.)
            #expect(without.placements.map(\.nodeID) == plan.placements.filter { !preempting.contains($0.id) }.map(\.nodeID),
                    "\(tag): a system placement that fits evicted, or preemption moved one")
        } else {
            let first = plan.placements.firstIndex { preempting.contains($0.id) } ?? plan.placements.count
            #expect(without.placements == Array(plan.placements.prefix(first)),
                    "\(tag): evicted for a placement that fits without it")
        }
    }
}
