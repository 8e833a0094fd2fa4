import Foundation
import LoopbackPorts
import Testing

/// The `caravan` binary against a real single-node `caravand server` (no
/// client node: allocations are never placed, so these prove submission,
/// inspection, planning, errors and output formats, not task completion).
@Suite(.serialized, .timeLimit(.minutes(5))) struct CLIProcessTests {
    @Test func jobRunDetachedThenStatusAndListShowTheJob() async throws {
        try await withServer { server in
            let run = try await caravan(["job", "run", "--detach", "--address", server.address, exampleJob("batch-hello.yaml")])
            #expect(run.status == 0, "\(run)")
            #expect(run.stdout.contains("Job registration successful"), "\(run)")
            let evaluationLine = try #require(run.stdout.split(separator: "\n").first { $0.hasPrefix("Evaluation ID: ") }, "\(run)")
            #expect(evaluationLine.dropFirst("Evaluation ID: ".count).count == 36, "a full evaluation ID: \(run)")

            // The address from the environment, as users set it.
            let env = ["CARAVAN_ADDR": server.address]
            let status = try await caravan(["job", "status", "hello"], environment: env)
            #expect(status.status == 0, "\(status)")
            #expect(status.stdout.contains("ID          = hello"), "\(status)")
            #expect(status.stdout.contains("Type        = batch"), "\(status)")
            #expect(status.stdout.contains("greet"), "the group is summarised: \(status)")
            // No client node: the scheduler cannot place the group, and status says why.
            #expect(status.stdout.contains("Placement Failure"), "\(status)")
            #expect(status.stdout.contains("no nodes in the job's datacenters"), "\(status)")

            let list = try await caravan(["job", "list", "--json"], environment: env)
            #expect(list.status == 0, "\(list)")
            let jobs = try #require(try list.json() as? [[String: Any]], "\(list)")
            let hello = try #require(jobs.first { $0["id"] as? String == "hello" }, "\(list)")
            #expect(hello["type"] as? String == "batch")
            #expect(hello["version"] as? Int == 0)
            #expect(hello["namespace"] as? String == "default")

            let table = try await caravan(["job", "status"], environment: env)
            #expect(table.status == 0, "\(table)")
            #expect(table.stdout.split(separator: "\n").first?.hasPrefix("ID") == true, "a table with a header: \(table)")
            #expect(table.stdout.contains("hello  batch"), "\(table)")
        }
    }

    @Test func jobRunWaitsForTheEvaluationAndExitsTwoWhenPlacementFails() async throws {
        try await withServer { server in
            let run = try await caravan(["job", "run", "--address", server.address, exampleJob("batch-hello.yaml")], timeout: .seconds(60))
            #expect(run.status == 2, "placement failure is exit 2, as Nomad: \(run)")
            #expect(run.stdout.contains("==> Monitoring evaluation"), "\(run)")
            #expect(run.stdout.contains("failed to place all allocations"), "\(run)")
            #expect(run.stdout.contains("Task Group \"greet\" (3 allocations not placed)"), "\(run)")
            #expect(run.stdout.contains("no nodes in the job's datacenters"), "\(run)")

            let json = try await caravan(["job", "run", "--json", "--address", server.address, exampleJob("batch-hello.yaml")])
            #expect(json.status == 2, "\(json)")
            let object = try #require(try json.json() as? [String: Any], "\(json)")
            #expect(object["outcome"] as? String == "placement_failed")
            #expect((object["placement_failures"] as? String)?.contains("not placed") == true, "\(json)")
        }
    }

    @Test func jobPlanShowsTheDryRunAndExitsAsNomad() async throws {
        try await withServer { server in
            let env = ["CARAVAN_ADDR": server.address]
            let plan = try await caravan(["job", "plan", exampleJob("batch-hello.yaml")], environment: env)
            // It would create allocations (that cannot be placed here): exit 1.
            #expect(plan.status == 1, "\(plan)")
            #expect(plan.stdout.contains("+ Job: \"hello\""), "a new job: \(plan)")
            #expect(plan.stdout.contains("Task Group: \"greet\""), "\(plan)")
            #expect(plan.stdout.contains("Scheduler dry-run:"), "\(plan)")
            #expect(plan.stdout.contains("WARNING: Failed to place all allocations."), "\(plan)")
            #expect(plan.stdout.contains("caravan job run --check-index 0"), "\(plan)")
            // A plan registers nothing.
            let list = try await caravan(["job", "list", "--json"], environment: env)
            #expect((try list.json() as? [Any])?.isEmpty == true, "\(list)")

            // Registered, then planned with a change: the field diff shows it.
            _ = try await caravan(["job", "run", "--detach", exampleJob("batch-hello.yaml")], environment: env)
            let changed = try String(contentsOfFile: exampleJob("batch-hello.yaml"), encoding: .utf8).replacingOccurrences(of: "count: 3", with: "count: 5")
            let diff = try await caravan(["job", "plan", "-"], environment: env, stdin: changed)
            #expect(diff.stdout.contains("+/- Job: \"hello\""), "\(diff)")
            #expect(diff.stdout.contains("+/- groups[greet].count: 3 => 5"), "\(diff)")
            #expect(diff.stdout.contains("--check-index "), "\(diff)")

            let json = try await caravan(["job", "plan", "--json", "-"], environment: env, stdin: changed)
            let object = try #require(try json.json() as? [String: Any], "\(json)")
            #expect(object["new_job"] as? Bool == false)
            #expect((object["failed_placements"] as? [String: Any])?["greet"] != nil, "\(json)")
        }
    }

    @Test func anInvalidJobFileListsEveryProblemWithItsFieldPath() async throws {
        let directory = NSTemporaryDirectory() + "caravan-cli-spec-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/bad.yaml"
        try """
            id: bad
            type: batchh
            groups:
              - name: g
                count: -1
                tasks:
                  - name: t
                    drivr: exec
            """.write(toFile: path, atomically: true, encoding: .utf8)
        // Validation is local: no server is needed, and none is asked.
        let run = try await caravan(["job", "run", path, "--address", "127.0.0.1:1"])
        #expect(run.status == 1, "\(run)")
        #expect(run.stdout.isEmpty, "\(run)")
        #expect(run.stderr.hasPrefix("Error: \(path) is not a valid job specification"), "\(run)")
        #expect(run.stderr.contains("type: \"batchh\" is not one of"), "\(run)")
        #expect(run.stderr.contains("did you mean \"batch\"?"), "\(run)")
        #expect(run.stderr.contains("groups[0].count: must not be negative"), "\(run)")
        #expect(run.stderr.contains("groups[0].tasks[0].drivr: unknown key; did you mean \"driver\"?"), "\(run)")
        #expect(!run.stderr.contains("Fatal error") && !run.stderr.contains("Backtrac"), "\(run)")

        let plan = try await caravan(["job", "plan", path, "--address", "127.0.0.1:1"])
        #expect(plan.status == 255, "plan errors exit 255, as Nomad: \(plan)")
        #expect(plan.stderr.contains("groups[0].count: must not be negative"), "\(plan)")

        let missing = try await caravan(["job", "run", directory + "/missing.yaml"])
        #expect(missing.status == 1, "\(missing)")
        #expect(missing.stderr == "Error: cannot read the job file \(directory)/missing.yaml: no such file\n", "\(missing)")
    }

    @Test func jobStopStopsAndPurgeRemoves() async throws {
        try await withServer { server in
            let env = ["CARAVAN_ADDR": server.address]
            _ = try await caravan(["job", "run", "--detach", exampleJob("batch-hello.yaml")], environment: env)

            let stop = try await caravan(["job", "stop", "hello"], environment: env)
            #expect(stop.status == 0, "\(stop)")
            #expect(stop.stdout.contains("==> Job \"hello\" stopped"), "\(stop)")
            let status = try await caravan(["job", "status", "hello", "--json"], environment: env)
            let job = try #require((try status.json() as? [String: Any])?["job"] as? [String: Any], "\(status)")
            #expect(job["stop"] as? Bool == true)
            #expect(job["status"] as? String == "dead")

            let history = try await caravan(["job", "history", "hello"], environment: env)
            #expect(history.status == 0, "\(history)")
            #expect(history.stdout.contains("Version     = 1"), "the stop made version 1: \(history)")
            #expect(history.stdout.contains("Stopped     = true"), "\(history)")

            let purge = try await caravan(["job", "stop", "--purge", "hello"], environment: env)
            #expect(purge.status == 0, "\(purge)")
            let gone = try await caravan(["job", "status", "hello"], environment: env)
            #expect(gone.status == 1, "\(gone)")
            #expect(gone.stderr == "Error: job \"hello\" is not registered in namespace \"default\"\n", "\(gone)")

            let unknown = try await caravan(["job", "stop", "nope"], environment: env)
            #expect(unknown.status == 1, "\(unknown)")
            #expect(unknown.stderr.contains("job \"nope\" is not registered"), "\(unknown)")
        }
    }

    @Test func serverMembersAndRaftPeersListTheServer() async throws {
        try await withServer { server in
            let members = try await caravan(["server", "members", "--address", server.address])
            #expect(members.status == 0, "\(members)")
            let header = try #require(members.stdout.split(separator: "\n").first.map(String.init))
            #expect(header.hasPrefix("Name"), "\(members)")
            #expect(members.stdout.contains("s1    \(server.address)  alive   true"), "\(members)")

            let json = try await caravan(["server", "members", "--json", "--address", server.address])
            let list = try #require(try json.json() as? [[String: Any]], "\(json)")
            #expect(list.count == 1)
            #expect(list.first?["name"] as? String == "s1")
            #expect(list.first?["leader"] as? Bool == true)

            let peers = try await caravan(["operator", "raft", "list-peers", "--address", server.address])
            #expect(peers.status == 0, "\(peers)")
            #expect(peers.stdout.contains("s1"), "\(peers)")
            #expect(peers.stdout.contains(server.address), "\(peers)")
            #expect(peers.stdout.contains("leader"), "\(peers)")
            let peersJSON = try await caravan(["operator", "raft", "list-peers", "--json", "--address", server.address])
            let peerList = try #require((try peersJSON.json() as? [String: Any])?["peers"] as? [[String: Any]], "\(peersJSON)")
            #expect(peerList.first?["voter"] as? Bool == true)

            let remove = try await caravan(["operator", "raft", "remove-peer", "--peer-address", "127.0.0.1:1", "--address", server.address])
            #expect(remove.status == 1, "\(remove)")
            #expect(remove.stderr.contains("no Raft peer has the address 127.0.0.1:1"), "\(remove)")
        }
    }

    @Test func aWrongAddressGivesOneClearLineAndExitOne() async throws {
        let port = try LoopbackPort.next()
        let refused = try await caravan(["server", "members", "--address", "127.0.0.1:\(port)"])
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stdout.isEmpty)
        let first = refused.stderr.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first == "Error: cannot reach a Caravan server at 127.0.0.1:\(port): connection refused", "\(refused)")
        #expect(refused.stderr.contains("--address (or CARAVAN_ADDR)"), "\(refused)")

        let fromEnvironment = try await caravan(["job", "list"], environment: ["CARAVAN_ADDR": "127.0.0.1:\(port)"])
        #expect(fromEnvironment.status == 1, "\(fromEnvironment)")
        #expect(fromEnvironment.stderr.hasPrefix("Error: cannot reach a Caravan server at 127.0.0.1:\(port)"), "\(fromEnvironment)")

        let malformed = try await caravan(["job", "list", "--address", "127.0.0.1:notaport"])
        #expect(malformed.status == 1, "\(malformed)")
        #expect(malformed.stderr.hasPrefix("Error: --address \"127.0.0.1:notaport\" is not an address"), "\(malformed)")

        let halfTLS = try await caravan(["job", "list", "--ca-cert", "/nonexistent/ca.pem"])
        #expect(halfTLS.status == 1, "\(halfTLS)")
        #expect(halfTLS.stderr.contains("missing: --client-cert (CARAVAN_CLIENT_CERT), --client-key (CARAVAN_CLIENT_KEY)"), "\(halfTLS)")
    }

    @Test func everyListCommandPrintsParseableJSON() async throws {
        try await withServer { server in
            let env = ["CARAVAN_ADDR": server.address]
            _ = try await caravan(["job", "run", "--detach", exampleJob("batch-hello.yaml")], environment: env)
            let commands: [[String]] = [
                ["job", "list"], ["job", "status"], ["job", "status", "hello"], ["job", "history", "hello"],
                ["server", "members"], ["operator", "raft", "list-peers"], ["node", "status"],
                ["job", "run", "--detach", exampleJob("service-web.yaml")],
            ]
            for command in commands {
                let result = try await caravan(command + ["--json"], environment: env)
                #expect(result.status == 0, "\(command): \(result)")
                #expect((try? result.json()) != nil, "\(command) prints JSON: \(result)")
            }
            let status = try await caravan(["job", "status", "hello", "--json"], environment: env)
            let spec = try #require((try status.json() as? [String: Any])?["spec"] as? [String: Any], "\(status)")
            #expect(spec["id"] as? String == "hello", "the spec in its job-file form: \(status)")
            #expect((spec["groups"] as? [[String: Any]])?.first?["count"] as? Int == 3, "\(status)")
        }
    }

    @Test func operatorRaftLogPrintsTheServersLogAsJSON() async throws {
        try await withServer { server in
            let env = ["CARAVAN_ADDR": server.address]
            _ = try await caravan(["job", "run", "--detach", exampleJob("batch-hello.yaml")], environment: env)
            let log = try await caravan(["operator", "raft", "log", "--json", "--limit", "50"], environment: env)
            #expect(log.status == 0, "\(log)")
            let object = try #require(try log.json() as? [String: Any], "\(log)")
            let entries = try #require(object["entries"] as? [[String: Any]], "\(log)")
            #expect((object["last_index"] as? Int ?? 0) >= entries.count, "\(log)")
            #expect(entries.contains { ($0["summary"] as? String)?.contains("register job default/hello") == true }, "\(log)")
        }
    }

    @Test func runSubmitsAOneOffJobAndStopsItWhenItCannotBePlaced() async throws {
        try await withServer { server in
            let env = ["CARAVAN_ADDR": server.address]
            let run = try await caravan(["run", "--id", "once", "--", "/bin/echo", "hello"], environment: env)
            #expect(run.status == 125, "it did not run: 125, as docker run: \(run)")
            #expect(run.stdout.isEmpty, "stdout holds only the task's output: \(run)")
            #expect(run.stderr.contains("could not be placed, so job \"once\" was stopped"), "\(run)")
            #expect(run.stderr.contains("no nodes in the job's datacenters"), "\(run)")

            let status = try await caravan(["job", "status", "once", "--json"], environment: env)
            let object = try #require(try status.json() as? [String: Any], "\(status)")
            #expect((object["job"] as? [String: Any])?["stop"] as? Bool == true, "\(status)")
            let spec = try #require(object["spec"] as? [String: Any])
            let task = try #require(((spec["groups"] as? [[String: Any]])?.first?["tasks"] as? [[String: Any]])?.first, "\(status)")
            #expect(task["driver"] as? String == "exec")
            let config = try #require(task["config"] as? [String: Any])
            #expect(config["command"] as? String == "/bin/echo")
            #expect(config["args"] as? [String] == ["hello"])

            let detached = try await caravan(["run", "--detach", "--image", "busybox:1", "--", "sh", "-c", "exit 3"], environment: env)
            #expect(detached.status == 0, "\(detached)")
            let id = try #require(detached.stdout.split(separator: "\n").first { $0.hasPrefix("Job ID: run-") }, "\(detached)")
            let docker = try await caravan(["job", "status", String(id.dropFirst("Job ID: ".count)), "--json"], environment: env)
            #expect(docker.stdout.contains("\"image\": \"busybox:1\""), "\(docker)")

            let usage = try await caravan(["run", "--image", "a", "--wasm", "b", "--", "x"], environment: env)
            #expect(usage.status != 0)
            #expect(usage.stderr.contains("--image and --wasm choose different drivers"), "\(usage)")
        }
    }

    @Test func unknownAllocationsAndLogsSayWhatIsMissing() async throws {
        try await withServer { server in
            let env = ["CARAVAN_ADDR": server.address]
            let alloc = try await caravan(["alloc", "status", "0000dead"], environment: env)
            #expect(alloc.status == 1, "\(alloc)")
            #expect(alloc.stderr == "Error: allocation \"0000dead\" does not exist\n", "\(alloc)")

            _ = try await caravan(["job", "run", "--detach", exampleJob("batch-hello.yaml")], environment: env)
            let logs = try await caravan(["job", "logs", "hello"], environment: env)
            #expect(logs.status == 1, "\(logs)")
            #expect(logs.stderr.contains("job \"hello\" has no allocations yet"), "\(logs)")
        }
    }

    @Test func helpNamesTheEnvironmentAndCompletionScriptsAreGenerated() async throws {
        let help = try await caravan(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("CARAVAN_ADDR"))
        #expect(help.stdout.contains("--generate-completion-script"))
        let completion = try await caravan(["--generate-completion-script", "bash"])
        #expect(completion.status == 0, "\(completion)")
        #expect(completion.stdout.contains("caravan"), "\(completion)")
        #expect(completion.stdout.contains("job"), "\(completion)")
    }
}
