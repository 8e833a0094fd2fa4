import Testing
import Model
@testable import Scheduler

private let gpus = NodeDeviceGroup(vendor: "nvidia", type: "gpu", name: "A100", instanceIDs: ["g0", "g1"])

/// An allocation of `job` on `node` holding `resources`.
private func allocation(_ id: String, job: String = "web", node: String = "n1", cpu: Int = 0, cores: Int = 0,
                        memory: Int = 0, disk: Int = 0, devices: [AllocatedDevice] = [],
                        clientStatus: ClientStatus = .running) -> Allocation {
    Allocation(id: AllocationID(id), jobID: job, group: "g", nodeID: NodeID(node),
               resources: AllocatedResources(cpu: cpu, cores: cores, memoryMB: memory, diskMB: disk, devices: devices),
               clientStatus: clientStatus)
}

private func plan(_ job: String = "web", placements: [Allocation] = [], updates: [Allocation] = [],
                  stops: [AllocationStop] = [], preemptions: [Preemption] = []) -> Plan {
    Plan(evaluationID: EvaluationID("eval-\(job)"), jobKey: JobKey(id: job), jobVersion: 0, placements: placements,
         updates: updates, stops: stops, preemptions: preemptions)
}

private func stop(_ a: Allocation) -> AllocationStop {
    AllocationStop(allocationID: a.id, nodeID: a.nodeID, reason: "replaced")
}

/// Two nodes n1 and n2 of 4000 MHz, 4 cores, 8192 MB, 1000 MB disk, two GPUs.
private func twoNodes(allocations: [Allocation] = []) -> ClusterState {
    ClusterState(nodes: ["n1", "n2"].map { Fixture.node($0, disk: 1000, devices: [gpus]) }, allocations: allocations)
}

@Suite struct PlanVerifierTests {
    @Test func planThatFitsIsAcceptedWhole() {
        let state = twoNodes(allocations: [allocation("old", cpu: 1000, memory: 1000)])
        let p = plan(placements: [allocation("a", cpu: 3000, memory: 7192), allocation("b", node: "n2", cpu: 4000)])
        let verdict = PlanVerifier.verify(p, against: state)
        #expect(verdict.isComplete)
        #expect(verdict.refusedNodes.isEmpty)
        #expect(verdict.accepted == p)
    }

    @Test func plansMadeOnTheSameSnapshotOverCommitTogether() throws {
        let state0 = ClusterState(nodes: [Fixture.node("n1", cpu: 1000)])
        let a = Fixture.job("a", cpu: 600), b = Fixture.job("b", cpu: 600)
        let planA = try Fixture.plan(a, state: state0, seed: 1)
        let planB = try Fixture.plan(b, state: state0, seed: 2)
        #expect(planA.placements.map(\.nodeID) == ["n1"])
        #expect(planB.placements.map(\.nodeID) == ["n1"])
        #expect(PlanVerifier.verify(planA, against: state0).isComplete)
        #expect(PlanVerifier.verify(planB, against: state0).isComplete)

        var state = state0
        state.apply(planA, at: Fixture.t0)
        let verdict = PlanVerifier.verify(planB, against: state)
        #expect(!verdict.isComplete)
        #expect(verdict.refusedNodes["n1"]?.hasSuffix("over-committed on cpu") == true, "\(verdict.refusedNodes)")
        #expect(verdict.accepted.placements.isEmpty)
    }

    /// Pipelined plans: a plan still in flight (proposed, not yet applied)
    /// counts against the next, and stops counting once released.
    @Test func aPlanInFlightCountsAgainstTheNextUntilReleased() throws {
        let state = ClusterState(nodes: [Fixture.node("n1", cpu: 1000)])
        let planA = try Fixture.plan(Fixture.job("a", cpu: 600), state: state, seed: 1)
        let planB = try Fixture.plan(Fixture.job("b", cpu: 600), state: state, seed: 2)
        let planC = try Fixture.plan(Fixture.job("c", cpu: 300), state: state, seed: 3)
        var inFlight = InFlightPlans()
        let (a, ticketA) = inFlight.admit(planA, against: state)
        #expect(a.isComplete)
        let (b, ticketB) = inFlight.admit(planB, against: state)
        #expect(b.refusedNodes["n1"]?.hasSuffix("over-committed on cpu") == true, "\(b.refusedNodes)")
        #expect(b.accepted.placements.isEmpty)
        // A refused plan holds nothing: C fits beside A alone.
        let (c, ticketC) = inFlight.admit(planC, against: state)
        #expect(c.isComplete)
        // What B waits for before planning again: the plans admitted before it.
        #expect(inFlight.holdsAny(before: ticketB), "A is in flight")
        inFlight.release(ticketA)
        #expect(!inFlight.holdsAny(before: ticketB), "C came after B")
        #expect(inFlight.holdsAny(before: ticketC + 1))
        inFlight.release(ticketB)
        inFlight.release(ticketC)
        #expect(inFlight.count == 0)
        #expect(inFlight.admit(planB, against: state).verdict.isComplete, "released plans no longer count")
    }

    struct DimensionCase: Sendable, CustomTestStringConvertible {
        var dimension: String
        var committed: Allocation
        var planned: Allocation
        var testDescription: String { dimension }
    }

    @Test(arguments: [
        DimensionCase(dimension: "cpu", committed: allocation("c", cpu: 3000), planned: allocation("p", cpu: 1001)),
        DimensionCase(dimension: "cores", committed: allocation("c", cores: 3), planned: allocation("p", cores: 2)),
        DimensionCase(dimension: "memory", committed: allocation("c", memory: 5000),
                      planned: allocation("p", memory: 3193)),
        DimensionCase(dimension: "disk", committed: allocation("c", disk: 600), planned: allocation("p", disk: 401)),
        DimensionCase(dimension: "devices nvidia/gpu/A100",
                      committed: allocation("c", devices: [AllocatedDevice(group: gpus.id, instanceIDs: ["g0", "g1"])]),
                      planned: allocation("p", devices: [AllocatedDevice(group: gpus.id, instanceIDs: ["g1"])])),
    ])
    func overCommitNamesTheDimensionAndKeepsOtherNodes(_ c: DimensionCase) {
        let state = twoNodes(allocations: [c.committed])
        var elsewhere = c.planned
        elsewhere.id = "p-n2"
        elsewhere.nodeID = "n2"
        let p = plan(placements: [c.planned, elsewhere])
        let verdict = PlanVerifier.verify(p, against: state)
        #expect(verdict.refusedNodes.keys.sorted() == ["n1"])
        #expect(verdict.refusedNodes["n1"] == "node n1 would be over-committed on \(c.dimension)")
        #expect(verdict.accepted.placements == [elsewhere], "the placement on n2 fits and is kept")
    }

    @Test func exactlyFullNodeIsAccepted() {
        let state = twoNodes(allocations: [allocation("c", cpu: 2000, cores: 2, memory: 4096, disk: 500)])
        let p = plan(placements: [allocation("p", cpu: 2000, cores: 2, memory: 4096, disk: 500,
                                             devices: [AllocatedDevice(group: gpus.id, instanceIDs: ["g0", "g1"])])])
        #expect(PlanVerifier.verify(p, against: state).isComplete)
    }

    @Test func stopInTheSamePlanFreesRoom() {
        let old = allocation("old", cpu: 3000)
        let state = twoNodes(allocations: [old])
        let replacement = allocation("new", cpu: 3000)
        #expect(!PlanVerifier.verify(plan(placements: [replacement]), against: state).isComplete,
                "without the stop the node is full")
        let p = plan(placements: [replacement], stops: [stop(old)])
        let verdict = PlanVerifier.verify(p, against: state)
        #expect(verdict.isComplete)
        #expect(verdict.accepted == p)
    }

    @Test func stoppingAFinishedAllocationFreesNothing() {
        let running = allocation("running", cpu: 3000)
        let finished = allocation("finished", cpu: 3000, clientStatus: .complete)
        let state = twoNodes(allocations: [running, finished])
        let verdict = PlanVerifier.verify(plan(placements: [allocation("new", cpu: 3000)], stops: [stop(finished)]),
                                          against: state)
        #expect(verdict.refusedNodes["n1"]?.hasSuffix("on cpu") == true)
        #expect(verdict.accepted.stops.map(\.allocationID) == ["finished"], "stops are kept")
    }

    @Test func preemptionFreesRoomAndIsDroppedWithItsRefusedPlacement() {
        let victim = allocation("victim", job: "batch", cpu: 3000)
        let state = twoNodes(allocations: [victim, allocation("other", job: "batch", cpu: 500)])
        func preempt(by id: AllocationID) -> Preemption {
            Preemption(allocationID: victim.id, nodeID: "n1", jobKey: victim.jobKey, jobPriority: 10, preemptedBy: id)
        }
        let fits = plan(placements: [allocation("p", cpu: 3500)], preemptions: [preempt(by: "p")])
        #expect(PlanVerifier.verify(fits, against: state).isComplete)

        let tooBig = plan(placements: [allocation("p", cpu: 3600)], preemptions: [preempt(by: "p")])
        let verdict = PlanVerifier.verify(tooBig, against: state)
        #expect(verdict.refusedNodes["n1"]?.hasSuffix("on cpu") == true)
        #expect(verdict.accepted.placements.isEmpty)
        #expect(verdict.accepted.preemptions.isEmpty, "no eviction for a placement that is not made")
    }

    @Test(arguments: [(2000, true), (3000, true), (3001, false)])
    func inPlaceUpdateSwapsResources(_ updatedCPU: Int, _ fits: Bool) {
        let current = allocation("u", cpu: 2000)
        let state = twoNodes(allocations: [current])
        var updated = current
        updated.resources.cpu = updatedCPU
        updated.jobVersion = 1
        let verdict = PlanVerifier.verify(plan(placements: [allocation("p", cpu: 1000)], updates: [updated]),
                                          against: state)
        #expect(verdict.isComplete == fits, "\(verdict.refusedNodes)")
    }

    struct NodeChange: Sendable, CustomTestStringConvertible {
        var name: String
        var expectedReason: String
        var change: @Sendable (inout ClusterState) -> Void
        var testDescription: String { name }
    }

    @Test(arguments: [
        NodeChange(name: "down", expectedReason: "no longer takes work (status down, eligibility eligible)") { state in
            Fixture.updateNode(&state, "n1") { $0.status = .down }
        },
        NodeChange(name: "disconnected", expectedReason: "(status disconnected, eligibility eligible)") { state in
            Fixture.updateNode(&state, "n1") { $0.status = .disconnected }
        },
        NodeChange(name: "ineligible", expectedReason: "(status ready, eligibility ineligible)") { state in
            Fixture.updateNode(&state, "n1") { $0.eligibility = .ineligible }
        },
        NodeChange(name: "draining", expectedReason: "(status ready, eligibility eligible, draining)") { state in
            Fixture.updateNode(&state, "n1") { $0.drain = true }
        },
        NodeChange(name: "removed", expectedReason: "node n1 is no longer registered") { state in
            state.removeNode("n1")
        },
    ])
    func nodeThatNoLongerTakesWorkIsRefused(_ c: NodeChange) {
        var state = twoNodes()
        c.change(&state)
        let onN1 = allocation("p1", cpu: 100), onN2 = allocation("p2", node: "n2", cpu: 100)
        let verdict = PlanVerifier.verify(plan(placements: [onN1, onN2]), against: state)
        #expect(verdict.refusedNodes.keys.sorted() == ["n1"])
        #expect(verdict.refusedNodes["n1"]?.contains(c.expectedReason) == true, "\(verdict.refusedNodes)")
        #expect(verdict.accepted.placements == [onN2])
    }

    @Test func planWithoutPlacementsIsAcceptedEvenOnADownNode() {
        var state = twoNodes(allocations: [allocation("old", cpu: 100)])
        Fixture.updateNode(&state, "n1") { $0.status = .down }
        let p = plan(stops: [stop(allocation("old"))])
        #expect(PlanVerifier.verify(p, against: state) == PlanVerdict(accepted: p, refusedNodes: [:]))
    }

    /// Two workers plan against the same snapshot; each picks the first free GPU.
    @Test func concurrentPlansMustNotShareADeviceInstance() throws {
        let state0 = ClusterState(nodes: [Fixture.node("n1", devices: [gpus])])
        let a = Fixture.job("a", devices: [DeviceRequest(name: "gpu")])
        let b = Fixture.job("b", devices: [DeviceRequest(name: "gpu")])
        let planA = try Fixture.plan(a, state: state0, seed: 1)
        let planB = try Fixture.plan(b, state: state0, seed: 2)
        let instancesA = Set(planA.placements.flatMap { $0.resources.devices.flatMap(\.instanceIDs) })
        let instancesB = Set(planB.placements.flatMap { $0.resources.devices.flatMap(\.instanceIDs) })
        try #require(instancesA == ["g0"] && instancesB == ["g0"], "both plans picked g0")

        var state = state0
        state.apply(planA, at: Fixture.t0)
        let verdict = PlanVerifier.verify(planB, against: state)
        #expect(verdict.refusedNodes["n1"]?.contains("device") == true, "\(verdict.refusedNodes)")
        #expect(verdict.accepted.placements.isEmpty)
    }
}
