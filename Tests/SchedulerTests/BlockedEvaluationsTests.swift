import Testing
import Model
@testable import Scheduler

/// Which blocked evaluations a change of capacity wakes: as many as the free
/// capacity could serve, oldest first; always those it cannot judge.
@Suite struct BlockedEvaluationsTests {
    static func blocked(_ spec: JobSpec, at seconds: Int64) -> Evaluation {
        Evaluation(id: EvaluationID("blocked-\(spec.id)"), namespace: spec.namespace, jobID: spec.id, jobType: spec.type,
                   priority: spec.priority, trigger: .queuedAllocations, status: .blocked,
                   createdAt: Fixture.t0 + .seconds(seconds))
    }

    /// A node with room for `free` allocations of 500 MHz / 256 MB and the rest full.
    static func cluster(freeSlots free: Int) throws -> ClusterState {
        var state = ClusterState(nodes: [Fixture.node("n1", cpu: 4000, memory: 8192)])
        for i in 0..<(8 - free) {
            try Fixture.run(Fixture.job("filler-\(i)", type: .batch, priority: 50), state: &state)
        }
        return state
    }

    @Test func asManyAsFitAreWokenOldestFirst() throws {
        let state = try Self.cluster(freeSlots: 2)
        let specs = (0..<6).map { Fixture.job("waiting-\($0)", type: .batch, priority: 50) }
        let jobs = Dictionary(uniqueKeysWithValues: specs.map { ($0.key, Job(spec: $0)) })
        // Created newest first, so the order woken is by time, not by input order.
        let blocked = specs.enumerated().map { Self.blocked($1, at: Int64(10 - $0)) }
        let woken = BlockedEvaluations.worthPlanning(blocked, asks: { jobs[$0].map(BlockedEvaluations.JobAsk.init) }, cluster: state)
        #expect(woken.map(\.jobID) == ["waiting-5", "waiting-4"])
    }

    @Test func nothingIsWokenWhenNothingFits() throws {
        let state = try Self.cluster(freeSlots: 0)
        let spec = Fixture.job("waiting", type: .batch, priority: 50)
        let woken = BlockedEvaluations.worthPlanning([Self.blocked(spec, at: 0)], asks: { _ in BlockedEvaluations.JobAsk(Job(spec: spec)) }, cluster: state)
        #expect(woken.isEmpty)
    }

    @Test func anAskLargerThanAnyNodesFreeRoomWaitsEvenWhenTheSumWouldFit() throws {
        var state = ClusterState(nodes: [Fixture.node("n1", cpu: 1000, memory: 8192), Fixture.node("n2", cpu: 1000, memory: 8192)])
        // 600 MHz each: no node holds two, so each node keeps 400 free.
        try Fixture.run(Fixture.job("filler-1", type: .batch, cpu: 600), state: &state)
        try Fixture.run(Fixture.job("filler-2", type: .batch, cpu: 600), state: &state)
        let big = Fixture.job("big", type: .batch, priority: 50, cpu: 700)
        let woken = BlockedEvaluations.worthPlanning([Self.blocked(big, at: 0)], asks: { _ in BlockedEvaluations.JobAsk(Job(spec: big)) }, cluster: state)
        #expect(woken.isEmpty, "800 MHz are free in all, but no node has 700")
    }

    @Test func whatCannotBeJudgedIsAlwaysWoken() throws {
        let state = try Self.cluster(freeSlots: 0)
        let stopped = Fixture.job("stopped", type: .batch)
        let gone = Fixture.job("gone", type: .batch)
        let devices = Fixture.job("gpu", type: .batch, devices: [DeviceRequest(name: "nvidia/gpu", count: 1)])
        let preempting = Fixture.job("urgent", type: .batch, priority: 90)
        let jobs: [JobKey: Job] = [
            stopped.key: Job(spec: stopped, stopped: true), devices.key: Job(spec: devices), preempting.key: Job(spec: preempting),
        ]
        let blocked = [stopped, gone, devices, preempting].enumerated().map { Self.blocked($1, at: Int64($0)) }
        let woken = BlockedEvaluations.worthPlanning(blocked, asks: { jobs[$0].map(BlockedEvaluations.JobAsk.init) }, cluster: state)
        #expect(woken.map(\.jobID) == ["stopped", "gone", "gpu", "urgent"])
    }

    @Test func drainingAndIneligibleNodesOfferNothing() throws {
        var state = try Self.cluster(freeSlots: 8)
        Fixture.updateNode(&state, "n1") { $0.drain = true }
        let spec = Fixture.job("waiting", type: .batch)
        #expect(BlockedEvaluations.worthPlanning([Self.blocked(spec, at: 0)], asks: { _ in BlockedEvaluations.JobAsk(Job(spec: spec)) }, cluster: state).isEmpty)
        Fixture.updateNode(&state, "n1") { $0.drain = false; $0.eligibility = .ineligible }
        #expect(BlockedEvaluations.worthPlanning([Self.blocked(spec, at: 0)], asks: { _ in BlockedEvaluations.JobAsk(Job(spec: spec)) }, cluster: state).isEmpty)
        Fixture.updateNode(&state, "n1") { $0.eligibility = .eligible }
        #expect(BlockedEvaluations.worthPlanning([Self.blocked(spec, at: 0)], asks: { _ in BlockedEvaluations.JobAsk(Job(spec: spec)) }, cluster: state).count == 1)
    }

    @Test func wokenByCapacityAndAlwaysWokenComeOutTogetherOldestFirst() throws {
        let state = try Self.cluster(freeSlots: 1)
        let small = (0..<3).map { Fixture.job("small-\($0)", type: .batch, priority: 50) }
        // Larger than the one free slot: judged by capacity, and never fits.
        let large = Fixture.job("large", type: .batch, priority: 50, cpu: 3000)
        let stopped = Fixture.job("stopped", type: .batch)
        var jobs = Dictionary(uniqueKeysWithValues: (small + [large]).map { ($0.key, Job(spec: $0)) })
        jobs[stopped.key] = Job(spec: stopped, stopped: true)
        let blocked = [
            Self.blocked(small[0], at: 5), Self.blocked(stopped, at: 9), Self.blocked(large, at: 1),
            Self.blocked(small[1], at: 3), Self.blocked(small[2], at: 4),
        ]
        let woken = BlockedEvaluations.worthPlanning(blocked, asks: { jobs[$0].map(BlockedEvaluations.JobAsk.init) }, cluster: state)
        #expect(woken.map(\.jobID) == ["small-1", "stopped"], "the oldest that fits, and the stopped job's, by age")
    }

    @Test func evaluationsQueuedAheadTakeTheirShareFirst() throws {
        let state = try Self.cluster(freeSlots: 3)
        let waiting = (0..<3).map { Fixture.job("waiting-\($0)", type: .batch, priority: 50) }
        let fresh = (0..<2).map { Fixture.job("fresh-\($0)", type: .batch, priority: 50) }
        let stopped = Fixture.job("stopped", type: .batch)
        var jobs = Dictionary(uniqueKeysWithValues: (waiting + fresh).map { ($0.key, Job(spec: $0)) })
        jobs[stopped.key] = Job(spec: stopped, stopped: true)
        let blocked = waiting.enumerated().map { Self.blocked($1, at: Int64($0)) }
        // Two registrations queued for a plan and a stopped job's evaluation (it places nothing).
        let queued = (fresh + [stopped]).map { spec in
            Evaluation(id: EvaluationID("queued-\(spec.id)"), namespace: spec.namespace, jobID: spec.id, jobType: spec.type,
                       priority: spec.priority, trigger: .jobRegister, status: .pending, createdAt: Fixture.t0)
        }
        let woken = BlockedEvaluations.worthPlanning(blocked, queued: queued.map(\.jobKey), asks: { jobs[$0].map(BlockedEvaluations.JobAsk.init) }, cluster: state)
        #expect(woken.map(\.jobID) == ["waiting-0"], "three slots free, two spoken for")
        #expect(BlockedEvaluations.worthPlanning(blocked, asks: { jobs[$0].map(BlockedEvaluations.JobAsk.init) }, cluster: state).count == 3, "with nothing queued, all three")
    }
}
