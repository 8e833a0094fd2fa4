import API
import Foundation
import Model
import Testing
import Transport

/// The reusable pieces in API that the CLI is built on.
struct ClientLibraryTests {
    @Test func aOneOffJobRunsOnceWithTheDriverAsked() throws {
        let exec = try OneOffJob(id: "once", command: ["/bin/echo", "a b", "c"]).spec()
        #expect(exec.type == .batch)
        let group = try #require(exec.groups.first)
        #expect(group.count == 1)
        #expect(group.restart.attempts == 0, "no restarts: the first exit is the command's")
        #expect(!group.reschedule.isEnabled, "no reschedules")
        let task = try #require(group.tasks.first)
        #expect(task.driver == "exec")
        #expect(task.config["command"] == .string("/bin/echo"))
        #expect(task.config["args"] == .list([.string("a b"), .string("c")]))

        let docker = try OneOffJob(runtime: .docker(image: "busybox:1"), command: []).spec()
        #expect(docker.groups[0].tasks[0].driver == "docker")
        #expect(docker.groups[0].tasks[0].config["image"] == .string("busybox:1"))
        #expect(docker.groups[0].tasks[0].config["command"] == nil, "the image's own command")
        #expect(docker.id.hasPrefix("run-") && docker.id.count == 12)

        let wasm = try OneOffJob(runtime: .wasm(module: "/m.wasm"), command: ["--fast"], timeout: .seconds(30)).spec()
        #expect(wasm.groups[0].tasks[0].config["module"] == .string("/m.wasm"))
        #expect(wasm.groups[0].tasks[0].config["args"] == .list([.string("--fast")]))
        #expect(wasm.groups[0].tasks[0].timeout == .seconds(30))

        // It survives the trip through the wire form.
        let decoded = try WireJSON.decode(JobSpec.self, from: WireJSON.encode(exec))
        #expect(decoded == exec)
    }

    @Test func anInvalidOneOffJobSaysWhereWithFieldPaths() {
        #expect(throws: JobSpecError.self) { try OneOffJob(id: "bad id", command: []).spec() }
        do {
            _ = try OneOffJob(id: "bad id", command: [], memoryMB: -1).spec()
        } catch {
            let paths = Set(error.problems.map(\.path))
            #expect(paths.contains("id"))
            #expect(paths.contains("groups[0].tasks[0].config.command"))
            #expect(paths.contains { $0.hasPrefix("groups[0].tasks[0].resources") }, "\(paths)")
        }
    }

    @Test func theSpecDiffNamesGroupsAndTasksByName() throws {
        let old = try JobSpec.parse(yaml: """
            id: web
            groups:
              - name: front
                count: 2
                tasks: [{name: server, driver: exec, config: {command: /bin/a}}]
            """)
        var new = old
        new.groups[0].count = 3
        new.groups[0].tasks[0].env = ["MODE": "fast"]
        new.priority = 70
        let diff = JobSpecDiff(from: old, to: new)
        #expect(diff.fields.contains(.init(path: "groups[front].count", kind: .changed, old: "2", new: "3")))
        #expect(diff.fields.contains(.init(path: "groups[front].tasks[server].env.MODE", kind: .added, old: nil, new: "\"fast\"")))
        #expect(diff.fields.contains(.init(path: "priority", kind: .changed, old: "50", new: "70")))
        #expect(diff.fields.count == 3, "\(diff.fields)")
        #expect(JobSpecDiff(from: old, to: old).isEmpty)
        #expect(JobSpecDiff(from: nil, to: old).fields.allSatisfy { $0.kind == .added })
    }

    @Test func addressesAreReadAsUsersWriteThem() {
        #expect(PeerAddress(clusterAddress: "10.0.0.1:4647") == PeerAddress(host: "10.0.0.1", port: 4647))
        #expect(PeerAddress(clusterAddress: "server.local") == PeerAddress(host: "server.local", port: 7647))
        #expect(PeerAddress(clusterAddress: "http://127.0.0.1:7000/") == PeerAddress(host: "127.0.0.1", port: 7000))
        #expect(PeerAddress(clusterAddress: "[::1]:7000") == PeerAddress(host: "::1", port: 7000))
        #expect(PeerAddress(clusterAddress: "[::1]") == PeerAddress(host: "::1", port: 7647))
        #expect(PeerAddress(clusterAddress: "::1") == PeerAddress(host: "::1", port: 7647))
        #expect(PeerAddress(clusterAddress: "host:notaport") == nil)
        #expect(PeerAddress(clusterAddress: "host:0") == nil)
        #expect(PeerAddress(clusterAddress: "") == nil)
    }

    @Test func exitCodesAreReadFromWhatTheClientReported() {
        func json(_ object: [String: Any]) -> Data { (try? JSONSerialization.data(withJSONObject: object)) ?? Data() }
        #expect(TaskExitStatus.exitCode(task: "t", allocationJSON: json(["taskStates": ["t": ["exitCode": 3]]])) == 3)
        #expect(TaskExitStatus.exitCode(task: "t", allocationJSON: json(["taskStates": ["t": ["exit_code": 0]]])) == 0)
        #expect(TaskExitStatus.exitCode(task: "t", allocationJSON: json(["clientDescription": "task t exited with 42"])) == 42)
        #expect(TaskExitStatus.exitCode(task: "t", allocationJSON: json(["taskStates": ["t": ["message": "exited with 7 after 1s"]]])) == 7)
        #expect(TaskExitStatus.exitCode(task: "t", allocationJSON: json(["clientStatus": "complete"])) == nil)
        #expect(TaskExitStatus.exitCode(task: "t", allocationJSON: Data("not json".utf8)) == nil)
    }
}
