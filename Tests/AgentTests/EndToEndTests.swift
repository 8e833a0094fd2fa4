import API
import Foundation
import GRPCCore
import Testing
import Transport

/// Jobs run end to end on real processes: three `caravand server`s and
/// `caravand client`s on 127.0.0.1, running tasks with the exec driver.
/// Tasks record each run in files under the test's directory, so the tests
/// can count how often each ran, whichever node ran it.
@Suite(.serialized) struct EndToEndTests {
    /// A batch job whose task appends a line to `<runs>/<job id>` and writes
    /// its job ID to its outputs, then sleeps `seconds`.
    static func batchJob(id: String, count: Int = 1, seconds: Double = 0, runs: String, type: String = "batch",
                         reschedule: String = #"{"attempts": 1, "interval": "1h", "delay": "0s", "delay_function": "constant"}"#) -> Data {
        let script = "echo run >> \(runs)/\(id); echo $CARAVAN_JOB_ID > $CARAVAN_TASK_DIR/outputs/result; sleep \(seconds)"
        let groupPolicies = type == "batch" ? #""restart": {"attempts": 0, "interval": "1h", "delay": "0s", "mode": "fail"}, "reschedule": \#(reschedule),"# : ""
        return Data("""
            {"id": "\(id)", "type": "\(type)", "datacenters": ["*"],
             "groups": [{"name": "g", "count": \(count), \(groupPolicies)
               "tasks": [{"name": "t", "driver": "exec",
                          "config": {"command": "/bin/sh", "args": ["-c", "\(script)"]},
                          "resources": {"cpu": 10, "memory_mb": 8}}]}]}
            """.utf8)
    }

    static func register(_ spec: Data, through server: ServerProcess) async throws {
        var request = Caravan_Api_V1_RegisterJobRequest()
        request.specJson = spec
        _ = try await server.connection.jobs.register(request, options: ServerProcess.quick)
    }

    static func allocations(of job: String, on server: ServerProcess) async throws -> [Caravan_Api_V1_AllocationSummary] {
        var request = Caravan_Api_V1_ListAllocationsRequest()
        request.jobID = job
        request.options.pageSize = 1000
        request.options.allowStale = true
        return try await server.connection.allocations.list(request, options: ServerProcess.quick).allocations
    }

    static func jobs(on server: ServerProcess) async throws -> [Caravan_Api_V1_JobSummary] {
        var all: [Caravan_Api_V1_JobSummary] = []
        var request = Caravan_Api_V1_ListJobsRequest()
        request.options.pageSize = 1000
        request.options.allowStale = true
        while true {
            let response = try await server.connection.jobs.list(request, options: ServerProcess.quick)
            all += response.jobs
            guard !response.page.nextCursor.isEmpty else { return all }
            request.options.cursor = response.page.nextCursor
        }
    }

    static func runCount(_ job: String, in runs: String) -> Int {
        ((try? String(contentsOfFile: "\(runs)/\(job)", encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    static func makeRuns(_ cluster: TestCluster) throws -> String {
        let runs = cluster.directory + "/runs"
        try FileManager.default.createDirectory(atPath: runs, withIntermediateDirectories: true)
        return runs
    }

    @Test func threeServersAndTwoClientsComplete500BatchJobsWithTheRightOutputs() async throws {
        try await withCluster(size: 3, durable: false) { cluster in
            let runs = try Self.makeRuns(cluster)
            let leader = try await cluster.leader()
            // Every allocation's directory is kept, to read its output.
            let keepAll = ["--gc-max-allocs", "500"]
            let clients = [try cluster.addClient(name: "c1", extra: keepAll), try cluster.addClient(name: "c2", extra: keepAll)]
            try await eventually("both nodes are ready") { try await Self.readyNodes(on: leader) == 2 }
            let ids = (0..<500).map { "job-\($0)" }
            // Submitted through every server, 8 at a time.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (n, id) in ids.enumerated() {
                    if n >= 8 { try await group.next() }
                    let server = cluster.servers[n % cluster.servers.count]
                    group.addTask { try await Self.register(Self.batchJob(id: id, runs: runs), through: server) }
                }
                try await group.waitForAll()
            }
            try await eventually("500 jobs complete", timeout: .seconds(120)) {
                let jobs = try await Self.jobs(on: leader)
                return jobs.count == 500 && jobs.allSatisfy { $0.allocationCounts["complete"] == 1 && $0.status == "dead" }
            }
            // Every job ran once, and its allocation's output names it.
            var outputs = 0
            for client in clients {
                for allocation in (try? FileManager.default.contentsOfDirectory(atPath: client.allocationsDirectory)) ?? [] {
                    let result = try String(contentsOfFile: "\(client.allocationsDirectory)/\(allocation)/t/outputs/result", encoding: .utf8)
                    #expect(ids.contains(result.trimmingCharacters(in: .newlines)))
                    outputs += 1
                }
            }
            #expect(outputs == 500)
            for id in ids { #expect(Self.runCount(id, in: runs) == 1, "job \(id) ran \(Self.runCount(id, in: runs)) times") }
            // (Which node ran what is the scheduler's bin-packing: tiny jobs that
            // finish at once may all fit on one node.)
        }
    }

    @Test func aKilledClientsAllocationsAreRescheduledAndComplete() async throws {
        try await withCluster(size: 3, durable: false, extra: ["--heartbeat-ttl-ms", "1000"]) { cluster in
            let runs = try Self.makeRuns(cluster)
            let leader = try await cluster.leader()
            let doomed = try cluster.addClient(name: "doomed")
            try await eventually("the first node is ready") { try await Self.readyNodes(on: leader) == 1 }
            try await Self.register(Self.batchJob(id: "long", count: 2, seconds: 4, runs: runs), through: leader)
            try await eventually("both allocations run on the first node") {
                try await Self.allocations(of: "long", on: leader).filter { $0.clientStatus == "running" }.count == 2
            }
            try cluster.addClient(name: "survivor")
            try await eventually("the second node is ready") { try await Self.readyNodes(on: leader) == 2 }
            doomed.kill()
            try await eventually("replacements complete on the survivor", timeout: .seconds(60)) {
                let allocations = try await Self.allocations(of: "long", on: leader)
                return allocations.filter { $0.clientStatus == "complete" && $0.nodeName == "survivor" }.count == 2
            }
            let allocations = try await Self.allocations(of: "long", on: leader)
            #expect(allocations.filter { $0.nodeName == "doomed" }.allSatisfy { $0.clientStatus == "lost" })
        }
    }

    @Test func aClientCutOffLongerThanItsTTLComesBackWithoutAnyJobRunningTooOften() async throws {
        try await withCluster(size: 3, durable: false, extra: ["--heartbeat-ttl-ms", "1000"]) { cluster in
            let runs = try Self.makeRuns(cluster)
            let leader = try await cluster.leader()
            let cutOff = try cluster.addClient(name: "cut-off")
            try cluster.addClient(name: "steady")
            try await eventually("both nodes are ready") { try await Self.readyNodes(on: leader) == 2 }
            let ids = (0..<6).map { "cut-\($0)" }
            for id in ids { try await Self.register(Self.batchJob(id: id, seconds: 3, runs: runs), through: leader) }
            try await eventually("every job runs") {
                var running = 0
                for id in ids { running += try await Self.allocations(of: id, on: leader).filter { $0.clientStatus == "running" }.count }
                return running == ids.count
            }
            cutOff.pause()
            try await eventually("the cut-off node is marked down") {
                var request = Caravan_Api_V1_ListNodesRequest()
                request.options.allowStale = true
                let nodes = try await leader.connection.nodes.list(request, options: ServerProcess.quick).nodes
                return nodes.first { $0.name == "cut-off" }?.status == "down"
            }
            cutOff.resume()
            try await eventually("every job ends in one final state", timeout: .seconds(60)) {
                let jobs = try await Self.jobs(on: leader)
                return jobs.count == ids.count && jobs.allSatisfy { $0.status == "dead" && $0.allocationCounts["complete", default: 0] >= 1 }
            }
            try await eventually("the cut-off node is ready again") { try await Self.readyNodes(on: leader) == 2 }
            for id in ids {
                // One run, or one more for an allocation the servers replaced while its node was cut off.
                let count = Self.runCount(id, in: runs)
                #expect(count >= 1 && count <= 2, "job \(id) ran \(count) times")
                let allocations = try await Self.allocations(of: id, on: leader)
                #expect(allocations.allSatisfy { ["complete", "lost"].contains($0.clientStatus) }, "\(id): \(allocations.map(\.clientStatus))")
            }
        }
    }

    /// Stopped by kill -9, or by SIGTERM: then it exits 0 after it has
    /// written its allocations' state (it once exited while still writing).
    @Test(arguments: [false, true])
    func aRestartedClientReattachesToItsRunningTasksInsteadOfStartingThemAgain(gracefully: Bool) async throws {
        try await withCluster(size: 3, durable: false) { cluster in
            let runs = try Self.makeRuns(cluster)
            let leader = try await cluster.leader()
            let client = try cluster.addClient(name: "restarted")
            try await Self.register(Self.batchJob(id: "survives", seconds: 4, runs: runs), through: leader)
            try await eventually("the task runs") {
                try await Self.allocations(of: "survives", on: leader).first?.clientStatus == "running"
            }
            if gracefully {
                client.terminate()
                #expect(client.exit == "status 0", "log: \(client.log)")
            } else {
                client.kill()
            }
            try client.restart()
            try await eventually("the job completes", timeout: .seconds(30)) {
                try await Self.allocations(of: "survives", on: leader).first?.clientStatus == "complete"
            }
            #expect(Self.runCount("survives", in: runs) == 1)
            #expect(client.log.contains("reattached to 1 allocations"))
        }
    }

    /// A client keeps a bounded number of finished allocations: their state
    /// and directories would otherwise grow with every job it ever ran.
    @Test func aClientCollectsItsOldestFinishedAllocationsBeyondTheNumberKept() async throws {
        try await withCluster(size: 3, durable: false) { cluster in
            let runs = try Self.makeRuns(cluster)
            let leader = try await cluster.leader()
            let client = try cluster.addClient(name: "collecting", extra: ["--gc-max-allocs", "2"])
            try await eventually("the node is ready") { try await Self.readyNodes(on: leader) == 1 }
            let ids = (0..<6).map { "short-\($0)" }
            for id in ids { try await Self.register(Self.batchJob(id: id, runs: runs), through: leader) }
            try await eventually("6 jobs complete", timeout: .seconds(30)) {
                let jobs = try await Self.jobs(on: leader)
                return jobs.count == 6 && jobs.allSatisfy { $0.allocationCounts["complete"] == 1 }
            }
            try await eventually("the client keeps the directories of 2 finished allocations") {
                (try? FileManager.default.contentsOfDirectory(atPath: client.allocationsDirectory).count) == 2
            }
            for id in ids { #expect(Self.runCount(id, in: runs) == 1, "job \(id) ran \(Self.runCount(id, in: runs)) times") }
            // Restarted, it remembers only what it kept, and runs nothing again.
            client.kill()
            try client.restart()
            try await eventually("the node is ready again") { try await Self.readyNodes(on: leader) == 1 }
            try await Self.register(Self.batchJob(id: "after-restart", runs: runs), through: leader)
            try await eventually("the next job completes") {
                try await Self.allocations(of: "after-restart", on: leader).first?.clientStatus == "complete"
            }
            for id in ids { #expect(Self.runCount(id, in: runs) == 1, "job \(id) ran again after the restart") }
        }
    }

    @Test func aSystemJobLandsOnAClientThatJoinsLater() async throws {
        try await withCluster(size: 3, durable: false) { cluster in
            let runs = try Self.makeRuns(cluster)
            let leader = try await cluster.leader()
            try cluster.addClient(name: "early")
            try await eventually("the first node is ready") { try await Self.readyNodes(on: leader) == 1 }
            try await Self.register(Self.batchJob(id: "everywhere", seconds: 600, runs: runs, type: "system"), through: leader)
            try await eventually("it runs on the first node") {
                try await Self.allocations(of: "everywhere", on: leader).filter { $0.clientStatus == "running" }.count == 1
            }
            try cluster.addClient(name: "late")
            try await eventually("it runs on the late node too") {
                let allocations = try await Self.allocations(of: "everywhere", on: leader)
                return allocations.filter { $0.clientStatus == "running" }.map(\.nodeName).sorted() == ["early", "late"]
            }
        }
    }

    @Test func aDrainedNodeMovesItsServiceAndLetsItsBatchWorkFinish() async throws {
        try await withCluster(size: 3, durable: false) { cluster in
            let runs = try Self.makeRuns(cluster)
            let leader = try await cluster.leader()
            try cluster.addClient(name: "drained")
            try await eventually("the first node is ready") { try await Self.readyNodes(on: leader) == 1 }
            try await Self.register(Self.batchJob(id: "svc", seconds: 600, runs: runs, type: "service"), through: leader)
            try await Self.register(Self.batchJob(id: "work", seconds: 3, runs: runs), through: leader)
            try await eventually("both run on the first node") {
                let svc = try await Self.allocations(of: "svc", on: leader)
                let work = try await Self.allocations(of: "work", on: leader)
                return svc.first?.clientStatus == "running" && work.first?.clientStatus == "running"
            }
            try cluster.addClient(name: "spare")
            try await eventually("the second node is ready") { try await Self.readyNodes(on: leader) == 2 }
            var nodes = Caravan_Api_V1_ListNodesRequest()
            nodes.options.allowStale = true
            let drained = try #require(try await leader.connection.nodes.list(nodes, options: ServerProcess.quick).nodes.first { $0.name == "drained" })
            var drain = Caravan_Api_V1_DrainNodeRequest()
            drain.nodeID = drained.id
            drain.drain.deadlineMs = 60_000
            _ = try await leader.connection.nodes.drain(drain, options: ServerProcess.quick)
            try await eventually("the service runs on the spare node", timeout: .seconds(30)) {
                try await Self.allocations(of: "svc", on: leader).contains { $0.nodeName == "spare" && $0.clientStatus == "running" }
            }
            try await eventually("the batch work finishes where it ran", timeout: .seconds(30)) {
                try await Self.allocations(of: "work", on: leader).first?.clientStatus == "complete"
            }
            let work = try await Self.allocations(of: "work", on: leader)
            #expect(work.count == 1 && work[0].nodeName == "drained", "batch work moved: \(work.map(\.nodeName))")
            #expect(Self.runCount("work", in: runs) == 1)
            // Nothing new is placed on the draining node.
            try await Self.register(Self.batchJob(id: "after", seconds: 0, runs: runs), through: leader)
            try await eventually("the new job completes") { try await Self.allocations(of: "after", on: leader).first?.clientStatus == "complete" }
            #expect(try await Self.allocations(of: "after", on: leader).first?.nodeName == "spare")
        }
    }

    static func readyNodes(on server: ServerProcess) async throws -> Int {
        var request = Caravan_Api_V1_ListNodesRequest()
        request.options.allowStale = true
        request.status = "ready"
        return try await server.connection.nodes.list(request, options: ServerProcess.quick).nodes.count
    }
}
