import API
import Foundation
import GRPCCore
import Testing
import Transport

/// Three (and more) real `caravand server` processes on 127.0.0.1.
/// Serialized: each test runs its own cluster, and on two cores concurrent
/// clusters would only slow each other's elections.
@Suite(.serialized) struct ServerClusterTests {
    @Test func threeServersElectALeaderAndAFollowerAcceptsASubmission() async throws {
        try await withCluster(size: 3, durable: false) { cluster in
            let leader = try await cluster.leader()
            let follower = cluster.followers(of: leader)[0]
            let response = try await cluster.register("through-follower", through: follower)
            #expect(response.jobID == "through-follower")
            #expect(response.meta.index > 0)
            #expect(!response.evaluationID.isEmpty)
            // Acknowledged means committed and applied: a linearizable read on the leader sees it.
            #expect(try await cluster.jobIDs(on: leader, stale: false).contains("through-follower"))
        }
    }

    @Test func killingTheLeaderElectsANewOneWithinTwoSecondsAndLosesNoAcknowledgedJob() async throws {
        try await withCluster(size: 3) { cluster in
            let first = try await cluster.leader()
            var acknowledged: Set<String> = []
            for i in 0..<30 {
                let through = i % 2 == 0 ? first : cluster.followers(of: first)[i % 2]
                try await cluster.register("job-\(i)", through: through)
                acknowledged.insert("job-\(i)")
            }
            first.kill()
            let killedAt = ContinuousClock.now
            let second = try await cluster.leader(timeout: .seconds(2))
            let failover = ContinuousClock.now - killedAt
            print("leader failover after kill -9: \(failover)")
            #expect(second !== first)
            let held = try await cluster.jobIDs(on: second, stale: false)
            #expect(acknowledged.isSubset(of: held), "lost: \(acknowledged.subtracting(held).sorted())")
            // The cluster still takes writes with one server down.
            try await cluster.register("after-failover", through: cluster.followers(of: second)[0])
        }
    }

    @Test func restartedServersRecoverTheirStateFromTheDataDirectory() async throws {
        try await withCluster(size: 3) { cluster in
            let leader = try await cluster.leader()
            for i in 0..<10 { try await cluster.register("durable-\(i)", through: leader) }
            for server in cluster.servers { server.terminate() }
            for server in cluster.servers { try server.restart() }
            let next = try await cluster.leader()
            let held = try await cluster.jobIDs(on: next, stale: false)
            #expect(held == Set((0..<10).map { "durable-\($0)" }))
        }
    }

    /// SIGTERM to every server at once, as a service manager stopping the
    /// cluster sends it: the leader's hand-over finds no voter left to take
    /// over, and it must stop anyway (it waited forever for a new leader).
    /// Each exits 0: while writes still arrive, a process that exited before
    /// its shutdown closed the store died in RocksDB's static destructors
    /// ("terminate called without an active exception", SIGABRT).
    @Test func serversStoppedTogetherAllExitCleanly() async throws {
        try await withCluster(size: 3) { cluster in
            let leader = try await cluster.leader()
            try await cluster.register("before-stop", through: leader)
            let writes = Task {
                for i in 0..<2_000 where !Task.isCancelled {
                    _ = try? await cluster.register("while-stopping-\(i)", through: leader)
                }
            }
            defer { writes.cancel() }
            try await eventually("writes are being applied") {
                (await leader.status()?.appliedIndex ?? 0) > 40
            }
            for server in cluster.servers { server.signalTerminate() }
            try await eventually("every server exits after SIGTERM", timeout: .seconds(15)) {
                cluster.servers.allSatisfy { !$0.isRunning }
            }
            #expect(cluster.servers.map(\.exit) == ["status 0", "status 0", "status 0"], "logs: \(cluster.servers.map(\.log))")
        }
    }

    @Test func aLaggingServerCatchesUpThroughASnapshot() async throws {
        try await withCluster(size: 3, extra: ["--snapshot-every", "40"]) { cluster in
            let leader = try await cluster.leader()
            let lagging = cluster.followers(of: leader)[0]
            try await cluster.register("before-pause", through: leader)
            let before = try #require(await lagging.status())
            lagging.pause()
            for i in 0..<120 { try await cluster.register("while-paused-\(i)", through: leader) }
            let leaderStatus = try #require(await leader.status())
            // The entries the paused server lacks are gone from the leader's log:
            // it can catch up only by InstallSnapshot.
            #expect(leaderStatus.snapshotIndex > before.lastLogIndex)
            lagging.resume()
            try await eventually("the lagging server applies the leader's commit index") {
                guard let status = await lagging.status() else { return false }
                return status.appliedIndex >= leaderStatus.commitIndex
            }
            let held = try await cluster.jobIDs(on: lagging, stale: true)
            #expect(held.count == 121)
            let after = try #require(await lagging.status())
            #expect(after.snapshotIndex > before.lastLogIndex, "the lagging server installed a snapshot")
        }
    }

    @Test func aFourthServerJoinsAndOneIsRemovedWhileJobsAreSubmitted() async throws {
        try await withCluster(size: 3) { cluster in
            let leader = try await cluster.leader()
            let submitter = Task { () -> Set<String> in
                var acknowledged: Set<String> = []
                for i in 0..<150 {
                    let id = "member-\(i)"
                    // A write may meet a leaderless moment during a change; it is retried.
                    for _ in 0..<50 {
                        if (try? await cluster.register(id, through: leader, idempotencyKey: id)) != nil {
                            acknowledged.insert(id)
                            break
                        }
                        try? await Task.sleep(for: .milliseconds(20))
                    }
                }
                return acknowledged
            }
            let fourth = try cluster.join(name: "s4", through: cluster.followers(of: leader)[0])
            try await eventually("s4 is a voter") {
                let members = try await leader.connection.cluster.members(Caravan_Api_V1_ListMembersRequest(), options: ServerProcess.quick)
                return members.members.filter(\.voter).count == 4
            }
            // Ask the newcomer, once it has caught up: it forwards to the leader.
            let commit = try #require(await leader.status()).commitIndex
            try await eventually("s4 caught up") { (await fourth.status()?.appliedIndex ?? 0) >= commit }
            let removed = cluster.followers(of: leader).first { $0 !== fourth }!
            var remove = Caravan_Api_V1_RemoveRaftPeerRequest()
            remove.id = try #require(await removed.status()).nodeID
            _ = try await fourth.connection.operatorControls.removeRaftPeer(remove, options: ServerProcess.quick)
            try await eventually("three voters remain") {
                let members = try await leader.connection.cluster.members(Caravan_Api_V1_ListMembersRequest(), options: ServerProcess.quick)
                return members.members.filter(\.voter).count == 3 && !members.members.contains { $0.id == remove.id }
            }
            removed.kill()
            let acknowledged = await submitter.value
            #expect(acknowledged.count == 150)
            let current = try await cluster.leader()
            try await eventually("s4 holds every acknowledged job") {
                try await cluster.jobIDs(on: fourth, stale: true).isSuperset(of: acknowledged)
            }
            #expect(try await cluster.jobIDs(on: current, stale: false).isSuperset(of: acknowledged))
        }
    }

    @Test func aRetriedRegistrationWithTheSameIdempotencyKeyReturnsTheFirstResult() async throws {
        try await withCluster(size: 1, durable: false) { cluster in
            let server = try await cluster.leader()
            let first = try await cluster.register("once", through: server, idempotencyKey: "key-1")
            let again = try await cluster.register("once", through: server, idempotencyKey: "key-1")
            #expect(again.evaluationID == first.evaluationID)
            #expect(again.meta.index == first.meta.index)
            #expect(again.jobVersion == first.jobVersion)
            let evaluations = try await server.connection.evaluations.list(Caravan_Api_V1_ListEvaluationsRequest(), options: ServerProcess.quick)
            // One registration, so one job-register evaluation (the scheduler may add a blocked one: there are no nodes).
            #expect(evaluations.evaluations.filter { $0.jobID == "once" && $0.triggeredBy == "job-register" }.count == 1)
        }
    }

    @Test func badInputGetsAPreciseErrorAndChangesNothing() async throws {
        try await withCluster(size: 1, durable: false) { cluster in
            let server = try await cluster.leader()
            var request = Caravan_Api_V1_RegisterJobRequest()
            request.specJson = Data(#"{"id": "bad", "type": "batch", "groups": [{"name": "g", "count": 1, "tasks": [{"name": "t", "driver": "exec", "resources": {"memory_mb": 0}, "colour": "red"}]}]}"#.utf8)
            let error = await #expect(throws: RPCError.self) {
                try await server.connection.jobs.register(request, options: ServerProcess.quick)
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("groups[0].tasks[0].colour") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("memory_mb") == true, "\(error?.message ?? "")")

            var unknown = Caravan_Api_V1_GetJobRequest()
            unknown.jobID = "nope"
            let notFound = await #expect(throws: RPCError.self) {
                try await server.connection.jobs.get(unknown, options: ServerProcess.quick)
            }
            #expect(notFound?.code == .notFound)

            var huge = Caravan_Api_V1_RegisterJobRequest()
            huge.specJson = Data(repeating: UInt8(ascii: " "), count: 2 << 20)
            let tooBig = await #expect(throws: RPCError.self) {
                try await server.connection.jobs.register(huge, options: ServerProcess.quick)
            }
            #expect(tooBig?.code == .invalidArgument)
            #expect(try await cluster.jobIDs(on: server, stale: false).isEmpty)
        }
    }
}
