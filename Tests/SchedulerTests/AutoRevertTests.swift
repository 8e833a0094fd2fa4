import Testing
import Model
@testable import Scheduler

/// A failed deployment with `auto_revert` goes back to the job's last stable
/// version: the plan names it, the servers register it again as a new
/// version (``JobHistory``), and the evaluation the plan carries rolls the
/// allocations back. Without `auto_revert` the job stays where it failed.
@Suite struct AutoRevertTests {
    /// The servers' side, as `ServerState` applies it: versions of one job,
    /// and the cluster the plans are committed to.
    struct Cluster {
        var state = ClusterState(nodes: (0..<6).map { Fixture.node("n\($0)") })
        var versions: [Job] = []
        var now = Fixture.t0
        /// Each plan draws from its own seed, as each evaluation does on the
        /// servers (a reused seed would reuse the deployment id).
        var seed: UInt64 = 0
        var current: Job { versions[versions.count - 1] }

        /// Registers `spec`; a new version when it changed.
        mutating func register(_ spec: JobSpec) {
            guard versions.last?.spec != spec else { return }
            versions.append(Job(spec: spec, version: (versions.last?.version ?? -1) + 1, submittedAt: now))
        }

        /// Plans the current version ten seconds later and commits the plan;
        /// placements start running, healthy when `healthy` says so.
        @discardableResult
        mutating func step(healthy: Bool? = true) throws -> Plan {
            now = now + .seconds(10)
            seed += 1
            let plan = try Fixture.run(current.spec, version: current.version, state: &state, now: now, seed: seed)
            for a in plan.placements where a.deploymentID != nil {
                Fixture.update(&state, a.id) { $0.deploymentStatus?.healthy = healthy }
            }
            JobHistory.markStable(by: plan, in: &versions)
            if let reverted = JobHistory.revert(by: plan, versions: versions, at: now) { versions.append(reverted) }
            return plan
        }

        /// Steps with healthy placements until the current version's
        /// deployment succeeds.
        mutating func rollOut() throws {
            for _ in 0..<10 {
                let plan = try step()
                if plan.deployment?.status == .successful { return }
            }
            Issue.record("deployment of version \(current.version) did not finish")
        }

        var live: [Allocation] { Fixture.live(state, current.spec) }
    }

    static func web(image: String, autoRevert: Bool) -> JobSpec {
        var job = Fixture.job("web", count: 3, update: UpdateStrategy(maxParallel: 1, autoRevert: autoRevert))
        job.groups[0].tasks[0].config["image"] = .string(image)
        return job
    }

    /// v0 runs (no deployment); v1 rolls out and succeeds (stable); v2 starts
    /// rolling; v3 replaces it before it finishes, and its first new
    /// allocation turns unhealthy.
    static func failingThirdUpdate(autoRevert: Bool) throws -> (Cluster, failed: Plan) {
        var c = Cluster()
        c.register(web(image: "web:0", autoRevert: autoRevert))
        try c.step()
        c.register(web(image: "web:1", autoRevert: autoRevert))
        try c.rollOut()
        c.register(web(image: "web:2", autoRevert: autoRevert))
        let v2 = try c.step()
        #expect(v2.deployment?.status == .running && v2.placements.count == 1)
        // Allocations run versions 1 and 2 now; only 1 is stable.
        #expect(Set(c.live.map(\.jobVersion)) == [1, 2])
        c.register(web(image: "web:3", autoRevert: autoRevert))
        let v3 = try c.step(healthy: false)
        #expect(v3.deployment?.jobVersion == 3)
        #expect(v3.deployment?.revertVersion == 1)
        let failed = try c.step()
        #expect(failed.deployment?.status == .failed)
        return (c, failed)
    }

    @Test func failedDeploymentRevertsToLastStableVersion() throws {
        var (c, failed) = try Self.failingThirdUpdate(autoRevert: true)
        #expect(c.versions.map(\.stable) == [false, true, false, false, false])
        #expect(failed.revertToJobVersion == 1)
        #expect(failed.deployment?.statusDescription.hasSuffix("rolling back to job version 1") == true)
        // The plan carries the evaluation that rolls back.
        #expect(failed.followUpEvaluations.contains {
            $0.trigger == .deploymentWatcher && $0.deploymentID == failed.deployment?.id && $0.waitUntil == nil
        })
        // Committed, it registered version 1's specification as version 4.
        #expect(c.current.version == 4)
        #expect(c.current.spec == c.versions[1].spec)
        #expect(c.current.spec != c.versions[3].spec)

        // The next evaluation rolls every allocation back to it; that rollout
        // would itself go back to version 1, never to a failed one.
        let first = try c.step()
        #expect(first.deployment?.jobVersion == 4)
        #expect(first.deployment?.revertVersion == 1)
        try c.rollOut()
        #expect(c.live.count == 3)
        #expect(c.live.allSatisfy { $0.jobVersion == 4 })
        let fingerprint = c.versions[1].spec.groups[0].fingerprint
        #expect(c.live.allSatisfy { $0.groupFingerprint == fingerprint })
        #expect(c.current.stable)
    }

    @Test func failedDeploymentWithoutAutoRevertStays() throws {
        var (c, failed) = try Self.failingThirdUpdate(autoRevert: false)
        #expect(failed.revertToJobVersion == nil)
        #expect(!failed.followUpEvaluations.contains { $0.trigger == .deploymentWatcher && $0.waitUntil == nil })
        #expect(failed.deployment?.statusDescription.contains("rolling back") == false)
        #expect(c.current.version == 3)
        #expect(c.versions.count == 4)
        // Later evaluations leave the failed deployment as it is.
        let before = c.live.map(\.id).sorted()
        let later = try c.step()
        #expect(later.placements.isEmpty && later.stops.isEmpty)
        #expect(c.current.version == 3)
        #expect(c.live.map(\.id).sorted() == before)
        #expect(c.live.contains { $0.jobVersion == 3 })
    }

    /// A revert's own failed rollout does not go back to the version that
    /// failed first, and does not loop on the stable version.
    @Test func revertOfARevertIsNotRegistered() throws {
        var c = Cluster()
        c.register(Self.web(image: "web:0", autoRevert: true))
        try c.step()
        c.register(Self.web(image: "web:1", autoRevert: true))
        let v1 = try c.step(healthy: false)
        #expect(v1.deployment?.revertVersion == 0)
        let failed = try c.step()
        #expect(failed.revertToJobVersion == 0)
        #expect(c.current.version == 2 && c.current.spec == c.versions[0].spec)
        // Version 2 (version 0's specification) rolls out and fails too.
        let v2 = try c.step(healthy: false)
        #expect(v2.deployment?.jobVersion == 2)
        #expect(v2.deployment?.revertVersion == 0, "not 1, the version that failed")
        let failedAgain = try c.step()
        #expect(failedAgain.deployment?.status == .failed)
        #expect(failedAgain.revertToJobVersion == 0)
        // Version 0's specification is already current: nothing is registered.
        #expect(c.current.version == 2)
        #expect(c.versions.count == 3)
    }

    // MARK: JobHistory

    static func history() -> [Job] {
        (0..<3).map { Job(spec: web(image: "web:\($0)", autoRevert: true), version: $0, stable: $0 == 0) }
    }

    static func revertPlan(forVersion version: Int, to target: Int) -> Plan {
        Plan(evaluationID: "e", jobKey: web(image: "", autoRevert: true).key, jobVersion: version,
             revertToJobVersion: target)
    }

    @Test func revertRegistersTheTargetSpecificationAsANewVersion() throws {
        let versions = Self.history()
        let reverted = try #require(JobHistory.revert(by: Self.revertPlan(forVersion: 2, to: 0), versions: versions,
                                                      at: Fixture.t0))
        #expect(reverted.version == 3)
        #expect(reverted.spec == versions[0].spec)
        #expect(!reverted.stable && !reverted.stopped)
        #expect(reverted.submittedAt == Fixture.t0)
    }

    @Test(arguments: [
        ("no revert asked", Plan(evaluationID: "e", jobKey: JobKey(namespace: "default", id: "web"), jobVersion: 2), AutoRevertTests.history()),
        ("a newer version was registered", AutoRevertTests.revertPlan(forVersion: 1, to: 0), AutoRevertTests.history()),
        ("the target is no longer kept", AutoRevertTests.revertPlan(forVersion: 2, to: 7), AutoRevertTests.history()),
        ("the job was stopped", AutoRevertTests.revertPlan(forVersion: 2, to: 0),
         AutoRevertTests.history().dropLast() + [Job(spec: AutoRevertTests.history()[2].spec, version: 2, stopped: true)]),
        ("the target is the current specification", AutoRevertTests.revertPlan(forVersion: 2, to: 0),
         AutoRevertTests.history().dropLast() + [Job(spec: AutoRevertTests.history()[0].spec, version: 2)]),
    ])
    func revertIsNotRegisteredWhen(_ reason: String, plan: Plan, versions: [Job]) {
        #expect(JobHistory.revert(by: plan, versions: versions, at: Fixture.t0) == nil, "\(reason)")
    }

    @Test func successfulDeploymentMarksItsVersionStable() {
        var versions = Self.history()
        let key = versions[0].key
        var plan = Plan(evaluationID: "e", jobKey: key, jobVersion: 2)
        plan.deployment = Deployment(id: "d", jobID: key.id, jobVersion: 2, status: .running)
        #expect(!JobHistory.markStable(by: plan, in: &versions))
        plan.deployment?.status = .failed
        #expect(!JobHistory.markStable(by: plan, in: &versions))
        plan.deployment?.status = .successful
        #expect(JobHistory.markStable(by: plan, in: &versions))
        #expect(versions.map(\.stable) == [true, false, true])
        #expect(!JobHistory.markStable(by: plan, in: &versions), "already stable")
    }
}
