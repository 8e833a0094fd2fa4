import Foundation
import Testing
import Model

/// Domain values survive a JSON round trip (what the server stores and the API sends).
@Suite struct DomainCodingTests {
    func roundTrip<T: Codable & Equatable>(_ value: T) throws -> T {
        try JSONDecoder().decode(T.self, from: JSONEncoder().encode(value))
    }

    @Test func nodeAllocationEvaluationPlanRoundTrip() throws {
        let node = Node(id: "n1", datacenter: "dc2", attributes: ["kernel.name": "linux"],
                        resources: NodeResources(cpu: 4000, cores: 4, memoryMB: 8192),
                        drivers: ["exec": DriverInfo()], datasets: ["wiki": DatasetInfo(sizeBytes: 1 << 30)])
        #expect(try roundTrip(node) == node)
        let alloc = Allocation(id: "a1", jobID: "web", jobVersion: 3, group: "g", nodeID: "n1",
                               resources: AllocatedResources(cpu: 500, memoryMB: 256),
                               rescheduleTracker: [RescheduleEvent(time: Timestamp(seconds: 10), previousAllocation: "a0",
                                                                   previousNode: "n0", delay: .seconds(30))],
                               createdAt: Timestamp(seconds: 5))
        #expect(try roundTrip(alloc) == alloc)
        #expect(alloc.name == "web.g[0]")
        let eval = Evaluation(id: "e1", jobID: "web", trigger: .nodeUpdate, nodeID: "n1",
                              waitUntil: Timestamp(seconds: 99))
        #expect(try roundTrip(eval) == eval)
        let plan = Plan(evaluationID: "e1", jobKey: JobKey(id: "web"), jobVersion: 3, placements: [alloc],
                        stops: [AllocationStop(allocationID: "a0", nodeID: "n0", reason: "node down", clientStatus: .lost)],
                        failedPlacements: [FailedPlacement(group: "g", count: 2, explanation: PlacementExplanation(
                            nodesEvaluated: 5, filtered: ["constraint ${attr.os} = windows": 3], exhausted: ["memory": 2]))])
        #expect(try roundTrip(plan) == plan)
        let job = Job(spec: JobSpec(id: "web", groups: [GroupSpec(name: "g", tasks: [TaskSpec(name: "t", driver: "exec")])]),
                      version: 3)
        #expect(try roundTrip(job) == job)
    }

    @Test func explanationReadsLikeASentence() {
        let e = PlacementExplanation(nodesEvaluated: 5, nodesInPool: 5,
                                     filtered: ["constraint ${attr.os} = windows": 3], exhausted: ["memory": 2])
        #expect(e.description == "3 nodes filtered by constraint ${attr.os} = windows; 2 nodes exhausted memory")
        #expect(PlacementExplanation().description == "no nodes in the job's datacenters")
    }
}
