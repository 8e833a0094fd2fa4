import Testing
import Model
import RaftCore
import Scheduler
@testable import Agent

private let t0 = Timestamp(seconds: 1_700_000_000)
private let hello = JobKey(id: "hello")

/// A batch job in the format of Examples/jobs/batch-hello.yaml; `cpu` changes the spec.
private func spec(_ id: String = "hello", cpu: Int = 100) throws -> JobSpec {
    try JobSpec.parse(yaml: """
        id: \(id)
        type: batch
        datacenters: ["*"]
        groups:
          - name: greet
            count: 1
            tasks:
              - name: say-hello
                driver: exec
                config:
                  command: /bin/echo
                resources:
                  cpu: \(cpu)
                  memory_mb: 64
        """)
}

private func register(_ spec: JobSpec, eval: String, key: String? = nil) -> ServerCommand {
    .registerJob(.init(spec: spec, evaluationID: EvaluationID(eval), idempotencyKey: key, at: t0))
}

private func stop(_ key: JobKey = hello, eval: String, purge: Bool = false) -> ServerCommand {
    .stopJob(.init(key: key, purge: purge, evaluationID: EvaluationID(eval), at: t0 + .seconds(1)))
}

private func applyPlan(_ plan: Plan, evaluation: String, status: EvaluationStatus = .complete) -> ServerCommand {
    let e = Evaluation(id: EvaluationID(evaluation), jobID: plan.jobKey.id, jobType: .batch, status: status,
                       createdAt: t0)
    return .applyPlan(.init(plan: plan, evaluation: e, at: t0 + .seconds(2)))
}

private func blocked(_ id: String, job: String = "hello") -> Evaluation {
    Evaluation(id: EvaluationID(id), jobID: job, jobType: .batch, trigger: .queuedAllocations, status: .blocked,
               createdAt: t0)
}

private let node = Node(id: "n1", resources: NodeResources(cpu: 4000, memoryMB: 8192))
private let placement = Allocation(id: "a1", jobID: "hello", jobType: .batch, group: "greet", nodeID: "n1",
                                   resources: AllocatedResources(cpu: 100, memoryMB: 64), createdAt: t0)

extension ServerState {
    /// Applies commands at indexes 1, 2, ...
    fileprivate mutating func applyAll(_ commands: [ServerCommand]) {
        for command in commands { _ = apply(command, at: appliedIndex + 1) }
    }
}

@Suite struct ServerStateTests {
    @Test func registerCreatesVersionZeroAndAPendingEvaluation() throws {
        var state = ServerState()
        let (outcome, changes) = state.apply(register(try spec(), eval: "e1"), at: 5)
        #expect(outcome == .jobRegistered(jobVersion: 0, evaluationID: "e1", index: 5, replayed: false))
        let record = try #require(state.jobs[hello])
        #expect(record.versions.map(\.version) == [0])
        #expect(record.current.spec == (try spec()))
        #expect(!record.current.stopped)
        #expect((record.createIndex, record.modifyIndex) == (5, 5))
        let evaluation = try #require(state.evaluations["e1"])
        #expect(evaluation.status == .pending && evaluation.trigger == .jobRegister && evaluation.jobKey == hello)
        #expect(evaluation.jobType == .batch && evaluation.createdAt == t0)
        #expect(changes.pendingEvaluations == [evaluation])
        #expect(state.evaluationModifyIndex["e1"] == 5)
        #expect(state.appliedIndex == 5)
    }

    @Test(arguments: [(100, 0), (200, 1)])
    func reRegisteringBumpsTheVersionOnlyWhenTheSpecChanged(_ cpu: Int, _ expectedVersion: Int) throws {
        var state = ServerState()
        _ = state.apply(register(try spec(), eval: "e1"), at: 1)
        let (outcome, changes) = state.apply(register(try spec(cpu: cpu), eval: "e2"), at: 2)
        #expect(outcome == .jobRegistered(jobVersion: expectedVersion, evaluationID: "e2", index: 2, replayed: false))
        let record = try #require(state.jobs[hello])
        #expect(record.versions.map(\.version) == Array(0...expectedVersion))
        #expect((record.createIndex, record.modifyIndex) == (1, 2))
        #expect(changes.pendingEvaluations.map(\.id) == ["e2"], "every register is evaluated")
    }

    /// A committed plan asking for a revert (a failed deployment with
    /// auto_revert) registers the old version's specification as a new
    /// version; one without it changes no version.
    @Test(arguments: [true, false])
    func aPlanAskingForARevertRegistersTheOldSpecificationAgain(revert: Bool) throws {
        var state = ServerState()
        state.applyAll([register(try spec(cpu: 100), eval: "e0"), register(try spec(cpu: 200), eval: "e1")])
        #expect(state.job(hello)?.version == 1)
        let plan = Plan(evaluationID: "e1", jobKey: hello, jobVersion: 1, revertToJobVersion: revert ? 0 : nil)
        _ = state.apply(applyPlan(plan, evaluation: "e1"), at: state.appliedIndex + 1)
        let current = try #require(state.job(hello))
        if revert {
            #expect(current.version == 2)
            #expect(current.spec == (try spec(cpu: 100)), "version 0's specification is current again")
            #expect(state.jobs[hello]?.modifyIndex == state.appliedIndex)
        } else {
            #expect(current.version == 1)
            #expect(current.spec == (try spec(cpu: 200)))
        }
    }

    @Test func keepsAtMostVersionsKeptVersions() throws {
        let kept = ServerState.versionsKept
        var state = ServerState()
        for v in 0..<(kept + 3) { _ = state.apply(register(try spec(cpu: 100 + v), eval: "e\(v)"), at: UInt64(v + 1)) }
        var record = try #require(state.jobs[hello])
        #expect(record.versions.map(\.version) == Array(3..<(kept + 3)))
        #expect(record.current.spec.groups[0].tasks[0].resources.cpu == 100 + kept + 2)

        _ = state.apply(stop(eval: "s"), at: 100)
        record = try #require(state.jobs[hello])
        #expect(record.versions.map(\.version) == Array(4...(kept + 3)), "a stop's version counts too")
    }

    @Test func idempotencyKeyReplaysTheFirstOutcome() throws {
        var state = ServerState()
        _ = state.apply(register(try spec(), eval: "e1", key: "k"), at: 1)
        let (outcome, changes) = state.apply(register(try spec(cpu: 999), eval: "e2", key: "k"), at: 2)
        #expect(outcome == .jobRegistered(jobVersion: 0, evaluationID: "e1", index: 1, replayed: true))
        #expect(changes.pendingEvaluations.isEmpty)
        #expect(state.evaluations["e2"] == nil)
        #expect(state.jobs[hello]?.versions.map(\.version) == [0], "the retried spec is not registered")

        let (other, _) = state.apply(register(try spec(cpu: 999), eval: "e3", key: "k2"), at: 3)
        #expect(other == .jobRegistered(jobVersion: 1, evaluationID: "e3", index: 3, replayed: false))
    }

    @Test func anIdempotencyKeyExpiresAfterItsWindow() throws {
        var state = ServerState()
        _ = state.apply(register(try spec(), eval: "e1", key: "k"), at: 1)
        let late = t0 + ServerState.idempotencyWindow
        let retry = ServerCommand.registerJob(.init(spec: try spec(cpu: 999), evaluationID: "e2", idempotencyKey: "k", at: late))
        let (outcome, _) = state.apply(retry, at: 2)
        #expect(outcome == .jobRegistered(jobVersion: 1, evaluationID: "e2", index: 2, replayed: false))
        // 1,024 keys later, an expired key is gone from the state.
        for n in 0..<1023 {
            let command = ServerCommand.registerJob(.init(
                spec: try spec(), evaluationID: EvaluationID("f\(n)"), idempotencyKey: "key-\(n)",
                at: late + ServerState.idempotencyWindow))
            _ = state.apply(command, at: UInt64(3 + n))
        }
        #expect(state.idempotency["k"] == nil)
        #expect(state.idempotency["key-0"] != nil)
    }

    @Test func stopMarksTheJobStoppedWithANewVersionAndADeregisterEvaluation() throws {
        var state = ServerState()
        _ = state.apply(register(try spec(), eval: "e1"), at: 1)
        let (outcome, changes) = state.apply(stop(eval: "s1"), at: 2)
        #expect(outcome == .jobStopped(evaluationID: "s1", index: 2))
        let job = try #require(state.job(hello))
        #expect(job.stopped && job.version == 1 && job.submittedAt == t0 + .seconds(1))
        #expect(state.jobs[hello]?.modifyIndex == 2)
        let evaluation = try #require(state.evaluations["s1"])
        #expect(evaluation.trigger == .jobDeregister && evaluation.status == .pending)
        #expect(changes.pendingEvaluations == [evaluation])

        _ = state.apply(stop(eval: "s2"), at: 3)
        #expect(state.job(hello)?.version == 1, "stopping a stopped job adds no version")
        #expect(state.evaluations["s2"]?.trigger == .jobDeregister)

        _ = state.apply(register(try spec(), eval: "e2"), at: 4)
        let revived = try #require(state.job(hello))
        #expect(revived.version == 2 && !revived.stopped, "re-registering the same spec revives it as a new version")
    }

    @Test func purgeRemovesTheJob() throws {
        var state = ServerState()
        _ = state.apply(register(try spec(), eval: "e1"), at: 1)
        let (outcome, changes) = state.apply(stop(eval: "s1", purge: true), at: 2)
        #expect(outcome == .jobStopped(evaluationID: "s1", index: 2))
        #expect(state.jobs[hello] == nil)
        #expect(state.status(of: hello) == "dead")
        #expect(changes.pendingEvaluations.map(\.id) == ["s1"], "the deregister evaluation stops its allocations")
    }

    @Test func stoppingAnUnknownJobIsRejected() {
        var state = ServerState()
        let (outcome, changes) = state.apply(stop(JobKey(id: "nope"), eval: "s1"), at: 1)
        guard case .rejected(let reason) = outcome else {
            Issue.record("expected .rejected, got \(outcome)")
            return
        }
        #expect(reason.contains("default/nope"))
        #expect(state.evaluations.isEmpty && changes.pendingEvaluations.isEmpty)
        #expect(state.appliedIndex == 1)
    }

    @Test func applyPlanStoresPlacementsAndTheEvaluationsNewStatus() throws {
        var state = ServerState()
        state.applyAll([.updateNode(.init(node: node, evaluations: [], at: t0)), register(try spec(), eval: "e1")])
        let followUp = Evaluation(id: "later", jobID: "hello", jobType: .batch, trigger: .rescheduleLater,
                                  waitUntil: t0 + .seconds(60), createdAt: t0)
        let plan = Plan(evaluationID: "e1", jobKey: hello, jobVersion: 0, placements: [placement],
                        followUpEvaluations: [followUp])
        let (outcome, changes) = state.apply(applyPlan(plan, evaluation: "e1"), at: 3)
        #expect(outcome == .planApplied(index: 3))
        #expect(state.cluster.allocations["a1"] == placement)
        #expect(state.cluster.allocations(onNode: "n1").map(\.id) == ["a1"])
        #expect(state.cluster.usage(of: "n1")?.cpu == 100)
        #expect(state.evaluations["e1"]?.status == .complete)
        #expect(state.evaluationModifyIndex["e1"] == 3)
        #expect(changes.pendingEvaluations == [followUp], "only the follow-up is pending")
        #expect(!changes.capacityChanged, "placing frees nothing")
    }

    @Test func statusReportsGetTheEvaluationsTheStateTheyMeetCallsFor() throws {
        var state = ServerState()
        var other = placement
        other.id = "a2"
        var disconnected = placement
        disconnected.id = "a3"
        disconnected.clientStatus = .unknown
        let placed = Plan(evaluationID: "e1", jobKey: hello, jobVersion: 0, placements: [placement, other, disconnected])
        state.applyAll([.updateNode(.init(node: node, evaluations: [], at: t0)), register(try spec(), eval: "e1"),
                        applyPlan(placed, evaluation: "e1")])
        func report(_ updates: [(AllocationID, ClientStatus)], ids: [EvaluationID]) -> ServerCommand {
            let reports = updates.map { ClientAllocationUpdate(allocationID: $0.0, clientStatus: $0.1, observedAt: t0) }
            #expect(ServerCommand.AllocationUpdates.evaluationIDsNeeded(by: reports) >= ids.count)
            return .updateAllocations(.init(nodeID: "n1", updates: reports, evaluationIDs: ids, at: t0 + .seconds(5)))
        }

        // Running from pending calls for nothing; the unused id is dropped.
        var (_, changes) = state.apply(report([("a1", .running), ("a2", .running)], ids: ["unused-1", "unused-2"]), at: 10)
        #expect(changes.pendingEvaluations.isEmpty)
        #expect(state.evaluations["unused-1"] == nil)

        // Two failures of one job: one evaluation, with the first id.
        (_, changes) = state.apply(report([("a1", .failed), ("a2", .failed)], ids: ["f1", "f2"]), at: 11)
        #expect(changes.pendingEvaluations.map(\.id) == ["f1"])
        let failure = try #require(state.evaluations["f1"])
        #expect(failure.trigger == .allocationFailure)
        #expect(failure.nodeID == "n1")
        #expect(failure.createdAt == t0 + .seconds(5))
        #expect(state.evaluations["f2"] == nil)

        // Failed again, or running after failing (terminal stays terminal): nothing.
        (_, changes) = state.apply(report([("a1", .failed), ("a2", .running)], ids: ["x1", "x2"]), at: 12)
        #expect(changes.pendingEvaluations.isEmpty)
        #expect(state.cluster.allocations["a2"]?.clientStatus == .failed)

        // Back from "unknown": a reconnect evaluation.
        (_, changes) = state.apply(report([("a3", .running)], ids: ["r1"]), at: 13)
        #expect(changes.pendingEvaluations.map(\.id) == ["r1"])
        #expect(state.evaluations["r1"]?.trigger == .reconnect)
    }

    @Test func aReportOlderThanTheLastAppliedToItsAllocationIsIgnored() throws {
        var state = ServerState()
        var other = placement
        other.id = "a2"
        let placed = Plan(evaluationID: "e1", jobKey: hello, jobVersion: 0, placements: [placement, other])
        state.applyAll([.updateNode(.init(node: node, evaluations: [], at: t0)), register(try spec(), eval: "e1"),
                        applyPlan(placed, evaluation: "e1")])
        func report(_ id: AllocationID, restarts: Int, sequence: UInt64?) -> ServerCommand {
            let update = ClientAllocationUpdate(
                allocationID: id, clientStatus: .running, taskStates: ["t": TaskState(state: .running, restarts: restarts)],
                observedAt: t0, sequence: sequence)
            return .updateAllocations(.init(nodeID: "n1", updates: [update], evaluationIDs: [], at: t0))
        }
        func restarts(_ id: AllocationID) -> Int? { state.cluster.allocations[id]?.taskStates["t"]?.restarts }

        // Batches sent at once commit out of order: the older report of a1 does not undo the newer.
        _ = state.apply(report("a1", restarts: 2, sequence: 7), at: 10)
        var (_, changes) = state.apply(report("a1", restarts: 1, sequence: 6), at: 11)
        #expect(restarts("a1") == 2)
        #expect(state.cluster.allocations["a1"]?.clientSequence == 7)
        #expect(changes.events.isEmpty, "an ignored report changes nothing")
        // The same report again (a batch sent again after a failed call) changes nothing either.
        (_, changes) = state.apply(report("a1", restarts: 2, sequence: 7), at: 12)
        #expect(changes.events.isEmpty)

        // Numbers order reports of one allocation only: a2's first report applies.
        _ = state.apply(report("a2", restarts: 0, sequence: 5), at: 13)
        #expect(restarts("a2") == 0)
        // A newer one applies; an unnumbered one (from an older node) always does.
        _ = state.apply(report("a1", restarts: 3, sequence: 8), at: 14)
        #expect(restarts("a1") == 3)
        _ = state.apply(report("a1", restarts: 4, sequence: nil), at: 15)
        #expect(restarts("a1") == 4)
        #expect(state.cluster.allocations["a1"]?.clientSequence == 8, "an unnumbered report keeps the last number")
    }

    @Test func blockedEvaluationCancelsOlderBlockedOnesOfTheSameJob() throws {
        var state = ServerState()
        state.applyAll([register(try spec(), eval: "e1"), register(try spec("other"), eval: "o1")])
        var first = Plan(evaluationID: "e1", jobKey: hello)
        first.blockedEvaluation = blocked("b1")
        var unrelated = Plan(evaluationID: "o1", jobKey: JobKey(id: "other"))
        unrelated.blockedEvaluation = blocked("ob", job: "other")
        state.applyAll([applyPlan(first, evaluation: "e1"), applyPlan(unrelated, evaluation: "o1")])
        #expect(state.evaluations["b1"]?.status == .blocked)

        _ = state.apply(.registerJob(.init(spec: try spec(cpu: 200), evaluationID: "e2", at: t0)), at: 10)
        var second = Plan(evaluationID: "e2", jobKey: hello)
        second.blockedEvaluation = blocked("b2")
        _ = state.apply(applyPlan(second, evaluation: "e2"), at: 11)

        let cancelled = try #require(state.evaluations["b1"])
        #expect(cancelled.status == .cancelled)
        #expect(cancelled.statusDescription.contains("b2"))
        #expect(state.evaluationModifyIndex["b1"] == 11)
        #expect(state.evaluations["b2"]?.status == .blocked)
        #expect(state.evaluations["ob"]?.status == .blocked, "another job's blocked evaluation stays")
        #expect(state.openEvaluationsByJob == [hello: ["b2"], JobKey(id: "other"): ["ob"]],
                "the index of open evaluations follows every change of status")
        #expect(state.blockedEvaluations.keys.sorted() == ["b2", "ob"])
        #expect(state.blockedEvaluations["b2"] == state.evaluations["b2"])
    }

    @Test func snapshotRestoresAnEqualState() throws {
        let machine = ServerStateMachine()
        var plan = Plan(evaluationID: "e1", jobKey: hello, jobVersion: 0, placements: [placement])
        plan.blockedEvaluation = blocked("b1")
        let commands: [ServerCommand] = [
            .updateNode(.init(node: node, evaluations: [], at: t0)), register(try spec(), eval: "e1", key: "k"), applyPlan(plan, evaluation: "e1"),
            register(try spec("other"), eval: "o1"), stop(JobKey(id: "other"), eval: "s1"),
            .describeMembers([MemberDescription(id: 1, name: "s1", address: "127.0.0.1:4647")]),
        ]
        for (i, command) in commands.enumerated() {
            _ = machine.apply(Entry(term: 1, index: UInt64(i + 1), data: ServerStateMachine.encode(command)), proposed: nil)
        }
        let before = machine.snapshotOfState
        #expect(before.appliedIndex == UInt64(commands.count))

        let restored = ServerStateMachine()
        try restored.restore(machine.snapshot()())
        var after = restored.snapshotOfState
        #expect(after.jobs == before.jobs)
        #expect(after.evaluations == before.evaluations)
        #expect(after.evaluationModifyIndex == before.evaluationModifyIndex)
        #expect(after.openEvaluationsByJob == before.openEvaluationsByJob)
        #expect(after.blockedEvaluations == before.blockedEvaluations)
        #expect(!after.blockedEvaluations.isEmpty)
        #expect(after.cluster.allocations == before.cluster.allocations)
        #expect(after.cluster.nodes == before.cluster.nodes)
        #expect(after.cluster.usage(of: "n1") == before.cluster.usage(of: "n1"))
        #expect(after.members == before.members)
        #expect(after.appliedIndex == before.appliedIndex)

        let (replay, _) = after.apply(register(try spec(cpu: 5), eval: "e9", key: "k"), at: 50)
        #expect(replay == .jobRegistered(jobVersion: 0, evaluationID: "e1", index: 2, replayed: true),
                "idempotency keys survive the snapshot")
    }
}
