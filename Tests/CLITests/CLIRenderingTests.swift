import Foundation
import Model
import Testing

@testable import CLIApp

/// Argument parsing and output rendering, without processes.
struct CLIRenderingTests {
    @Test func runTakesTheCommandAfterTheSeparator() throws {
        let run = try RunCommand.parse(["--image", "busybox:1", "-e", "A=1", "--", "sh", "-c", "echo $A --json"])
        #expect(run.image == "busybox:1")
        let job = try run.oneOffJob(namespace: "default")
        #expect(job.command == ["sh", "-c", "echo $A --json"], "flags after -- belong to the command")
        #expect(job.env == ["A": "1"])
        #expect(job.runtime == .docker(image: "busybox:1"))

        let bare = try RunCommand.parse(["/bin/echo", "hi", "--verbose"])
        #expect(try bare.oneOffJob(namespace: "default").command == ["/bin/echo", "hi", "--verbose"])
        #expect(!bare.verbose)

        #expect(throws: (any Error).self) { try RunCommand.parse([]) }
        #expect(throws: (any Error).self) { try RunCommand.parse(["--env", "NOEQUALS", "--", "x"]) }
        #expect(throws: (any Error).self) { try RunCommand.parse(["--timeout", "soon", "--", "x"]) }
    }

    @Test func drainNeedsADirectionAndAValidDeadline() throws {
        #expect(throws: (any Error).self) { try NodeDrainCommand.parse(["n1"]) }
        #expect(throws: (any Error).self) { try NodeDrainCommand.parse(["n1", "--enable", "--deadline", "later"]) }
        #expect(throws: (any Error).self) { try NodeDrainCommand.parse(["n1", "--enable", "--force", "--no-deadline"]) }
        let drain = try NodeDrainCommand.parse(["n1", "--enable", "--deadline", "30m"])
        #expect(drain.toggle == .enable)
        let stop = try NodeDrainCommand.parse(["n1", "--disable", "--keep-ineligible"])
        #expect(stop.toggle == .disable && stop.keepIneligible)
    }

    @Test func tablesAlignColumnsWithTwoSpaces() {
        var table = Table("ID", "Status")
        table.add("hello", "running")
        table.add("a", "dead")
        #expect(table.render() == "ID     Status\nhello  running\na      dead")
        var fields = Fields()
        fields.add("ID", "x")
        fields.add("Priority", "50")
        #expect(fields.render() == "ID       = x\nPriority = 50")
    }

    @Test func jsonOutputKeepsKeyOrderAndEscapes() throws {
        let value = JSONOutput.object([
            "b": .string("quote \" backslash \\ newline \n tab \t bell \u{07}"), "a": .int(UInt64(3)),
            "none": nil, "list": .array([]), "nested": .object(["x": .bool(true)]),
        ])
        let text = value.rendered()
        #expect(text.hasPrefix("{\n  \"b\": "), "keys in the order written: \(text)")
        #expect(!text.contains("none"))
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(parsed["b"] as? String == "quote \" backslash \\ newline \n tab \t bell \u{07}")
        #expect(parsed["a"] as? Int == 3)
        #expect((parsed["nested"] as? [String: Any])?["x"] as? Bool == true)
    }

    @Test func placementFailuresReadOneReasonALine() {
        let lines = RolloutPrinter.placementFailureLines(
            "group \"web\": 2 allocations not placed: 3 nodes filtered by constraint ${attr.os} = windows; 1 node exhausted memory; group \"db\": 1 allocation not placed: no nodes in the job's datacenters")
        #expect(lines == [
            "Task Group \"web\" (2 allocations not placed):",
            "  * 3 nodes filtered by constraint ${attr.os} = windows",
            "  * 1 node exhausted memory",
            "Task Group \"db\" (1 allocation not placed):",
            "  * no nodes in the job's datacenters",
        ])
    }

    @Test func errorsBecomeOneMessage() {
        let (spec, code) = Failure.describe(JobSpecError([SpecProblem(path: "groups[0].count", message: "must not be negative")]), address: nil, exitCode: 1)
        #expect(spec.contains("groups[0].count: must not be negative"))
        #expect(code == 1)
        let (cli, planCode) = Failure.describe(CLIError("no such job"), address: "127.0.0.1:7647", exitCode: 255)
        #expect(cli == "no such job")
        #expect(planCode == 255)
    }
}
