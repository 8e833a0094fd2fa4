import Testing
import Model
@testable import Scheduler

@Suite struct ConstraintOperatorTests {
    static let node = Fixture.node("n1",
                                   attributes: ["kernel.name": "linux", "kernel.version": "5.15.0", "cpu.numcores": "8",
                                                "docker.version": "20.10.7", "features": "avx,sse4,avx2"],
                                   meta: ["rack": "r1"], nodeClass: "gpu")

    @Test(arguments: [
        (Constraint(attribute: "${attr.kernel.name}", operator: .equal, value: "linux"), true),
        (Constraint(attribute: "${attr.kernel.name}", operator: .equal, value: "windows"), false),
        (Constraint(attribute: "${attr.kernel.name}", operator: .notEqual, value: "windows"), true),
        (Constraint(attribute: "${attr.missing}", operator: .notEqual, value: "x"), true),
        (Constraint(attribute: "${attr.cpu.numcores}", operator: .greaterOrEqual, value: "8"), true),
        (Constraint(attribute: "${attr.cpu.numcores}", operator: .greater, value: "10"), false),
        (Constraint(attribute: "${attr.cpu.numcores}", operator: .less, value: "10"), true),
        (Constraint(attribute: "${attr.cpu.numcores}", operator: .lessOrEqual, value: "7"), false),
        (Constraint(attribute: "${attr.kernel.version}", operator: .regexp, value: "^5\\.1[0-9]"), true),
        (Constraint(attribute: "${attr.kernel.version}", operator: .regexp, value: "^4\\."), false),
        (Constraint(attribute: "${attr.docker.version}", operator: .version, value: ">= 20.0, < 21"), true),
        (Constraint(attribute: "${attr.docker.version}", operator: .version, value: "~> 19.3"), false),
        (Constraint(attribute: "${attr.kernel.version}", operator: .semver, value: ">= 5.10.0"), true),
        (Constraint(attribute: "${attr.features}", operator: .setContains, value: "avx,avx2"), true),
        (Constraint(attribute: "${attr.features}", operator: .setContainsAll, value: "avx,neon"), false),
        (Constraint(attribute: "${attr.features}", operator: .setContainsAny, value: "neon,sse4"), true),
        (Constraint(attribute: "${attr.features}", operator: .setContainsAny, value: "neon"), false),
        (Constraint(attribute: "${meta.rack}", operator: .isSet), true),
        (Constraint(attribute: "${meta.zone}", operator: .isSet), false),
        (Constraint(attribute: "${meta.zone}", operator: .isNotSet), true),
        (Constraint(attribute: "${node.class}", operator: .equal, value: "gpu"), true),
        (Constraint(attribute: "${node.datacenter}", operator: .equal, value: "dc1"), true),
        (Constraint(attribute: "${node.unique.id}", operator: .equal, value: "n1"), true),
        (Constraint(attribute: "${attr.driver.docker}", operator: .equal, value: "1"), true),
        (Constraint(attribute: "${attr.driver.wasm}", operator: .isSet), false),
        (Constraint(attribute: "${meta.rack}", operator: .equal, value: "${meta.rack}"), true),
    ])
    func evaluatesOperator(constraint: Constraint, expected: Bool) {
        #expect(CompiledConstraint(constraint).isMet(by: Self.node) == expected, "\(constraint)")
    }

    @Test(arguments: [("dc1", ["*"], true), ("dc1", ["dc2"], false), ("eu-west-1", ["eu-*"], true),
                      ("us-east", ["eu-*", "us-*"], true), ("dc1", ["dc*1"], true), ("dc2", ["dc*1"], false)])
    func matchesDatacenterGlobs(dc: String, patterns: [String], expected: Bool) {
        #expect(datacenterMatches(dc, patterns) == expected)
    }
}

@Suite struct FeasibilityTests {
    @Test func failedPlacementExplainsEachReason() throws {
        let nodes = [
            Fixture.node("w1", attributes: ["os": "linux"]), Fixture.node("w2", attributes: ["os": "linux"]),
            Fixture.node("w3", attributes: ["os": "linux"]),
            Fixture.node("m1", memory: 100, attributes: ["os": "windows"]),
            Fixture.node("m2", memory: 100, attributes: ["os": "windows"]),
        ]
        let job = Fixture.job("win", constraints: [Constraint(attribute: "${attr.os}", value: "windows")])
        let plan = try Fixture.plan(job, state: ClusterState(nodes: nodes))
        #expect(plan.placements.isEmpty)
        let failure = try #require(plan.failedPlacements.first)
        #expect(failure.explanation.description
            == "3 nodes filtered by constraint ${attr.os} = windows; 2 nodes exhausted memory")
        #expect(failure.count == 1)
        #expect(plan.blockedEvaluation?.status == .blocked)
    }

    @Test(arguments: [
        ("down", "node down"), ("ineligible", "node ineligible"), ("draining", "node draining"),
        ("no driver", "missing driver exec"), ("sick driver", "unhealthy driver exec"),
    ])
    func filtersNodesByState(change: String, reason: String) throws {
        var node = Fixture.node("n1")
        switch change {
        case "down": node.status = .down
        case "ineligible": node.eligibility = .ineligible
        case "draining": node.drain = true
        case "no driver": node.drivers["exec"] = nil
        default: node.drivers["exec"]?.healthy = false
        }
        let plan = try Fixture.plan(Fixture.job("j"), state: ClusterState(nodes: [node]))
        #expect(plan.placements.isEmpty, "\(change)")
        #expect(plan.failedPlacements.first?.explanation.filtered == [reason: 1])
    }

    @Test func coalescesFailuresOfOneGroup() throws {
        let plan = try Fixture.plan(Fixture.job("j", count: 5, memory: 5000),
                                    state: ClusterState(nodes: [Fixture.node("a"), Fixture.node("b")]))
        #expect(plan.placements.count == 2)
        #expect(plan.failedPlacements.count == 1)
        #expect(plan.failedPlacements[0].count == 3)
        #expect(plan.failedPlacements[0].description.hasPrefix("group \"g\": 3 allocations not placed: "))
    }

    @Test func respectsDatacenters() throws {
        let state = ClusterState(nodes: [Fixture.node("a", dc: "dc1"), Fixture.node("b", dc: "dc2")])
        let plan = try Fixture.plan(Fixture.job("j", count: 2, memory: 5000, datacenters: ["dc2"]), state: state)
        #expect(plan.placements.map(\.nodeID) == ["b"])
        #expect(plan.failedPlacements.first?.count == 1)
    }

    @Test func requiredDatasetRestrictsNodes() throws {
        let nodes = (0..<20).map { Fixture.node("n\($0)", datasets: $0 == 7 ? ["wiki": 1 << 30] : [:]) }
        let job = Fixture.job("idx", type: .batch, inputs: [DataInput(name: "c", source: .dataset("wiki"),
                                                                        locality: .required)])
        let plan = try Fixture.plan(job, state: ClusterState(nodes: nodes))
        #expect(plan.placements.map(\.nodeID) == ["n7"])
        let missing = try Fixture.plan(Fixture.job("x", type: .batch, inputs: [
            DataInput(name: "c", source: .dataset("absent"), locality: .required)]), state: ClusterState(nodes: nodes))
        #expect(missing.failedPlacements.first?.explanation.description == "20 nodes filtered by missing dataset absent")
    }

    @Test func devicesAreCountedAndAssigned() throws {
        let gpus = NodeDeviceGroup(vendor: "nvidia", type: "gpu", name: "A100", instanceIDs: ["g0", "g1"])
        let state = ClusterState(nodes: [Fixture.node("plain"), Fixture.node("gpu", devices: [gpus])])
        let job = Fixture.job("train", type: .batch, count: 3, devices: [DeviceRequest(name: "nvidia/gpu")])
        var s = state
        let plan = try Fixture.run(job, state: &s)
        #expect(plan.placements.count == 2)
        #expect(Set(plan.placements.map(\.nodeID)) == ["gpu"])
        #expect(Set(plan.placements.flatMap { $0.resources.devices.flatMap(\.instanceIDs) }) == ["g0", "g1"])
        let failure = try #require(plan.failedPlacements.first)
        #expect(failure.explanation.filtered["missing devices nvidia/gpu"] == 1)
        #expect(failure.explanation.exhausted["devices nvidia/gpu"] == 1)
    }

    @Test func distinctHostsAndDistinctProperty() throws {
        let nodes = (0..<6).map { Fixture.node("n\($0)", meta: ["rack": "r\($0 % 3)"]) }
        let hosts = Fixture.job("h", count: 8, cpu: 10, memory: 10,
                                constraints: [Constraint(operator: .distinctHosts)])
        let p1 = try Fixture.plan(hosts, state: ClusterState(nodes: nodes))
        #expect(p1.placements.count == 6)
        #expect(Set(p1.placements.map(\.nodeID)).count == 6)
        #expect(p1.failedPlacements.first?.count == 2)
        let racks = Fixture.job("r", count: 6, cpu: 10, memory: 10, groupConstraints: [
            Constraint(attribute: "${meta.rack}", operator: .distinctProperty, value: "2")])
        let p2 = try Fixture.plan(racks, state: ClusterState(nodes: nodes))
        #expect(p2.placements.count == 6)
        var perRack: [String: Int] = [:]
        for a in p2.placements { perRack[ClusterState(nodes: nodes).node(a.nodeID)!.meta["rack"]!, default: 0] += 1 }
        #expect(perRack.values.allSatisfy { $0 <= 2 })
    }

    @Test func coresReserveCPU() throws {
        var job = Fixture.job("c", type: .batch, count: 3)
        job.groups[0].tasks[0].resources = Resources(cpu: 0, cores: 2, memoryMB: 100)
        let plan = try Fixture.plan(job, state: ClusterState(nodes: [Fixture.node("a", cpu: 4000, cores: 4)]))
        #expect(plan.placements.count == 2)
        #expect(plan.placements[0].resources.cpu == 2000)
        #expect(plan.failedPlacements.first?.explanation.exhausted == ["cores": 1])
    }
}
