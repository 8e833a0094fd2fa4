import Foundation
import Testing
import Model
@testable import Scheduler

/// The example job files schedule as their comments promise.
@Suite struct ExampleJobSchedulingTests {
    func load(_ file: String) throws -> JobSpec {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Examples/jobs/\(file)")
        return try JobSpec.parse(yaml: String(contentsOf: url, encoding: .utf8))
    }

    @Test func dataLocalityJobRunsBesideItsCorpus() throws {
        let job = try load("data-locality.yaml")
        let nodes = (0..<30).map { i in
            Fixture.node("n\(i)", cpu: 16000, cores: 16, memory: 32768, disk: 500_000,
                         attributes: ["kernel.name": "linux", "cpu.arch": i % 2 == 0 ? "amd64" : "arm64"],
                         drivers: ["wasm"],
                         datasets: i < 6 ? ["wiki-2024": 50 << 30, "embeddings": Int64(i) << 30] : [:])
        }
        let state = ClusterState(nodes: nodes)
        let plan = try Fixture.plan(job, state: state)
        #expect(plan.placements.count == 4)
        #expect(plan.failedPlacements.isEmpty)
        for a in plan.placements {
            #expect(state.node(a.nodeID)!.datasets["wiki-2024"] != nil)
        }
        // The node holding the most embedding bytes is among the first chosen.
        #expect(plan.placements.contains { $0.nodeID == "n5" })
    }

    @Test func serviceExampleSpreadsOverDatacenters() throws {
        let job = try load("service-web.yaml")
        let nodes = (0..<6).map { Fixture.node("a\($0)", dc: "dc1", nodeClass: $0 < 2 ? "web" : "") }
            + (0..<6).map { Fixture.node("b\($0)", dc: "dc2") }
        let state = ClusterState(nodes: nodes)
        let plan = try Fixture.plan(job, state: state)
        #expect(plan.placements.count == 6)
        let perDC = Dictionary(grouping: plan.placements) { state.node($0.nodeID)!.datacenter }.mapValues(\.count)
        // The spread (50/50, weight 100) keeps both datacenters in use; the
        // affinity for class "web" (weight 50) pulls some extra toward dc1.
        #expect((perDC["dc1"] ?? 0) >= 3 && (perDC["dc2"] ?? 0) >= 2, "\(perDC)")
        #expect(plan.placements.contains { state.node($0.nodeID)!.nodeClass == "web" })
    }

    @Test func systemExampleCoversLinuxNodes() throws {
        let job = try load("system-logger.yaml")
        let nodes = (0..<8).map { i in
            Fixture.node("n\(i)", attributes: ["kernel.name": i == 3 ? "windows" : "linux"])
        }
        let plan = try Fixture.plan(job, state: ClusterState(nodes: nodes))
        #expect(plan.placements.count == 7)
        #expect(!plan.placements.contains { $0.nodeID == "n3" })
    }
}
