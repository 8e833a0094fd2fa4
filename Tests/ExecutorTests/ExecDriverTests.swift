import Foundation
import Testing

@testable import Executor

@Suite("exec driver")
struct ExecDriverTests {
    let driver = ExecDriver()

    @Test("the handle state built directly is what encoding it makes, and decodes back")
    func handleStateAsJSONValue() throws {
        let bare = ExecHandleState(pid: 4242, startTicks: 987_654_321, stateDirectory: "/data/a/t/.caravan", cgroup: nil)
        let grouped = ExecHandleState(
            pid: 7, startTicks: 1, stateDirectory: "/s",
            cgroup: TaskCgroup(version: .v1, directories: ["memory": "/sys/fs/cgroup/memory/caravan/t", "cpu": "/sys/fs/cgroup/cpu/caravan/t"]))
        for state in [bare, grouped] {
            #expect(state.jsonValue == (try JSONValue(encoding: state)))
            #expect(try state.jsonValue.decode(as: ExecHandleState.self) == state)
        }
    }

    @Test("fingerprint is healthy and says what cgroups enforce")
    func fingerprint() async {
        let fingerprint = await driver.fingerprint()
        #expect(fingerprint.isHealthy)
        #expect(["enforced", "not enforced"].contains(fingerprint.attributes["driver.exec.memory_limit"]))
        #if os(Linux) && (arch(x86_64) || arch(arm64))
        #expect(fingerprint.attributes["driver.exec.supervisor"] == "static")
        #endif
        print("exec fingerprint: \(fingerprint.attributes.sorted(by: { $0.key < $1.key }))")
    }

    /// The driver with its static supervisor, or with the `/bin/sh` one used
    /// where there is none: both must behave the same.
    static func driver(shell: Bool) -> ExecDriver { shell ? ExecDriver(supervisor: .shell) : ExecDriver() }

    @Test("exit codes, stdout and stderr, env and working directory", arguments: [false, true])
    func exitCodeAndOutput(shell: Bool) async throws {
        let driver = Self.driver(shell: shell)
        let directory = try makeTaskDirectory()
        var spec = shellTask(#"echo "out $GREETING [$A][$ZZ]"; echo "err in $(pwd)" >&2; exit 3"#)
        // Several variables, each read back exactly: none may run into the next.
        spec.env = ["GREETING": "hello", "A": "1", "ZZ": "/a/long/path/value"]
        let handle = try await driver.start(spec, in: directory)
        let result = try await driver.wait(handle)
        #expect(result.exitCode == 3)
        #expect(result.signal == nil)
        #expect(!result.timedOut)
        #expect(handle.stdout.readText() == "out hello [1][/a/long/path/value]\n")
        #expect(handle.stderr.readText() == "err in \(directory.root)\n")
        #expect(handle.stdout.isComplete)
        try await driver.destroy(handle)
    }

    @Test("output is followable while the task runs and rotated by size")
    func followAndRotate() async throws {
        let directory = try makeTaskDirectory()
        let spec = shellTask(
            #"i=0; while [ $i -lt 50 ]; do echo "line $i"; i=$((i+1)); done"#,
            logs: LogPolicy(maxFileSize: 64, maxFiles: 4)
        )
        let handle = try await driver.start(spec, in: directory)
        var followed: [UInt8] = []
        for try await chunk in handle.stdout.chunks(follow: true, pollInterval: .milliseconds(5)) { followed += chunk }
        let result = try await driver.wait(handle)
        #expect(result.exitCode == 0)
        let text = String(decoding: followed, as: UTF8.self)
        #expect(text.hasSuffix("line 49\n"))
        #expect(handle.stdout.fileIndices.count == 4)
        #expect(handle.stdout.readAll().count <= 4 * 64)
        try await driver.destroy(handle)
    }

    @Test("a missing binary is a clear error")
    func missingBinary() async throws {
        let directory = try makeTaskDirectory()
        var spec = shellTask("true")
        spec.config = ExecConfig(command: "/no/such/program").json
        await #expect(throws: TaskDriverError.executableNotFound("/no/such/program", reason: "/no/such/program does not exist")) {
            _ = try await driver.start(spec, in: directory)
        }
        spec.config = ExecConfig(command: "no-such-program-anywhere").json
        let error = await #expect(throws: TaskDriverError.self) { _ = try await driver.start(spec, in: directory) }
        #expect(error?.description.contains("not found in PATH") == true)
        spec.config = ["args": ["x"]]
        let invalid = await #expect(throws: TaskDriverError.self) { _ = try await driver.start(spec, in: directory) }
        #expect(invalid?.description == "invalid exec driver configuration: \"command\" must be a non-empty string")
    }

    @Test("a task running past its timeout is stopped and reported as timed out")
    func timeout() async throws {
        let directory = try makeTaskDirectory()
        let spec = shellTask("sleep 30", timeout: .milliseconds(300))
        let handle = try await driver.start(spec, in: directory)
        let (result, elapsed) = try await timed { try await driver.wait(handle) }
        #expect(result.timedOut)
        #expect(result.signal == .terminate)
        #expect(elapsed < .seconds(5))
        try await driver.destroy(handle)
    }

    @Test("stop escalates to SIGKILL for a task that ignores SIGTERM, and kills the whole tree")
    func killEscalation() async throws {
        let directory = try makeTaskDirectory()
        let spec = shellTask(
            #"trap '' TERM; (trap '' TERM; sleep 60) & echo $! > "$CARAVAN_LOCAL_DIR/child"; echo ready; while :; do sleep 1; done"#,
            killTimeout: .milliseconds(300)
        )
        let handle = try await driver.start(spec, in: directory)
        #expect(await eventually { handle.stdout.readText() == "ready\n" })
        let child = try #require(Int32(String(contentsOfFile: directory.local + "/child", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        let (_, elapsed) = try await timed { try await driver.stop(handle) }
        let result = try await driver.wait(handle)
        #expect(result.signal == .kill)
        #expect(elapsed >= .milliseconds(300))
        #expect(await eventually { ProcStat.read(child)?.isAlive != true })
        try await driver.destroy(handle)
    }

    @Test("signal reaches the task; a task that handles SIGTERM exits by itself", arguments: [false, true])
    func gracefulStop(shell: Bool) async throws {
        let driver = Self.driver(shell: shell)
        let directory = try makeTaskDirectory()
        let spec = shellTask(#"trap 'echo bye; exit 7' TERM; echo ready; while :; do sleep 0.05; done"#)
        let handle = try await driver.start(spec, in: directory)
        #expect(await eventually { handle.stdout.readText() == "ready\n" })
        try await driver.stop(handle)
        let result = try await driver.wait(handle)
        #expect(result.exitCode == 7)
        #expect(handle.stdout.readText() == "ready\nbye\n")
        try await driver.destroy(handle)
    }

    @Test("stats report the task's memory and CPU")
    func stats() async throws {
        let directory = try makeTaskDirectory()
        let handle = try await driver.start(shellTask("echo ready; sleep 30"), in: directory)
        #expect(await eventually { handle.stdout.readText() == "ready\n" })
        let stats = try await driver.stats(handle)
        #expect(stats.memoryBytes > 0)
        try await driver.stop(handle)
        #expect(try await driver.wait(handle).signal == .terminate)
        try await driver.destroy(handle)
    }

    @Test(
        "the memory limit kills a task that goes over it, where the fingerprint says cgroups enforce it",
        .enabled("cgroups do not enforce memory limits on this host (driver.exec.memory_limit is not \"enforced\")") {
            await ExecDriver().fingerprint().attributes["driver.exec.memory_limit"] == "enforced"
        }
    )
    func memoryLimit() async throws {
        let directory = try makeTaskDirectory()
        // tail -c holds 100 MB.
        let script = "head -c 200000000 /dev/zero | tail -c 100000000 >/dev/null"
        let limited = try await driver.start(shellTask(script, resources: TaskResources(memoryBytes: 32 << 20)), in: directory)
        let result = try await driver.wait(limited)
        #expect(result.oomKilled)
        #expect(result.exitCode == 137)
        #expect(result.signal == .kill)
        try await driver.destroy(limited)
        // The same task with room for it runs to the end: the limit made the difference.
        let roomy = try await driver.start(shellTask(script, resources: TaskResources(memoryBytes: 512 << 20)), in: directory)
        let finished = try await driver.wait(roomy)
        #expect(finished.succeeded, "\(finished)")
        try await driver.destroy(roomy)
    }

    @Test(
        "the CPU a task asks for is a share of contended CPU, and a cap only with cpu_hard_limit",
        .enabled("cgroups do not enforce CPU on this host (driver.exec.cpu_limit is not \"enforced\")") {
            await ExecDriver().fingerprint().attributes["driver.exec.cpu_limit"] == "enforced"
        }
    )
    func cpuShareOrCap() async throws {
        // 1% of a core: capped, 1 ms of CPU per 100 ms period.
        let asked = TaskResources(cpuCores: 0.01)
        /// The CPU the task used, and the wall time that holds the span it was measured over.
        func cpuUsed(hardLimit: Bool) async throws -> (used: Duration, within: Duration) {
            var spec = shellTask("", resources: asked)
            spec.config = ExecConfig(command: "/bin/sh", args: ["-c", "echo ready; while :; do :; done"], cpuHardLimit: hardLimit).json
            let handle = try await driver.start(spec, in: try makeTaskDirectory())
            #expect(await eventually { handle.stdout.readText() == "ready\n" })
            let clock = ContinuousClock()
            let start = clock.now
            let before = try await driver.stats(handle).cpuTime
            // A rate over a stretch of time: there is no condition to await.
            // On a busy machine the stretch runs longer than asked; the clock says how long.
            try await Task.sleep(for: .milliseconds(500))
            let after = try await driver.stats(handle).cpuTime
            let within = clock.now - start
            try await driver.stop(handle)
            try await driver.destroy(handle)
            return (after - before, within)
        }
        let capped = try await cpuUsed(hardLimit: true)
        let shared = try await cpuUsed(hardLimit: false)
        // The cap allows 1 ms per 100 ms period the span touches, and a few
        // periods more for the edges: about 10 ms in 500 ms.
        let allowed = Duration.milliseconds(1) * (capped.within / .milliseconds(100) + 5)
        #expect(capped.used < allowed, "capped at 1% of a core, it used \(capped.used) in \(capped.within)")
        // A share only weighs against other busy tasks: the loop runs on, far
        // past the cap, however busy the other tests keep the machine.
        #expect(shared.used > .milliseconds(30), "with a 1% share, it used \(shared.used) in \(shared.within)")
    }

    @Test(
        "the task runs inside its cgroups, as the agent's user or as another, under either supervisor",
        .enabled("cgroups do not enforce memory limits on this host (driver.exec.memory_limit is not \"enforced\")") {
            await ExecDriver().fingerprint().attributes["driver.exec.memory_limit"] == "enforced"
        },
        arguments: [false, true], [nil, "nobody"] as [String?]
    )
    func taskRunsInItsCgroups(shell: Bool, user: String?) async throws {
        let driver = Self.driver(shell: shell)
        let version = await driver.fingerprint().attributes["driver.exec.cgroups"]
        var spec = shellTask("cat /proc/self/cgroup; id -u", resources: TaskResources(memoryBytes: 64 << 20, cpuCores: 0.5))
        spec.user = user
        let handle = try await driver.start(spec, in: try makeTaskDirectory())
        let result = try await driver.wait(handle)
        #expect(result.succeeded, "\(result)")
        let lines = handle.stdout.readText().split(separator: "\n").map(String.init)
        let expectedUID = user.flatMap { getpwnam($0)?.pointee.pw_uid } ?? getuid()
        #expect(lines.last == "\(expectedUID)")
        // hierarchy-ID:controllers:path; v2's one hierarchy has no controllers listed.
        let memberships = lines.dropLast().map { $0.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false) }
        let ours = memberships.filter { fields in
            guard fields.count == 3 else { return false }
            let controllers = fields[1].split(separator: ",")
            return version == "v2" ? fields[1].isEmpty : controllers.contains("memory") || controllers.contains("cpu") || controllers.contains("cpuacct")
        }
        #expect(ours.count == (version == "v2" ? 1 : 3), "\(lines)")
        for fields in ours {
            #expect(fields[2].hasSuffix("/caravan/\(spec.id)"), "\(lines)")
        }
        try await driver.destroy(handle)
    }

    @Test("exec and docker read cpu_hard_limit, and refuse a value that is not a Boolean")
    func cpuHardLimitConfig() throws {
        #expect(try ExecConfig(.object(["command": "/bin/true"])).cpuHardLimit == false)
        #expect(try ExecConfig(ExecConfig(command: "/bin/true", cpuHardLimit: true).json).cpuHardLimit)
        #expect(try DockerConfig(DockerConfig(image: "busybox:1", cpuHardLimit: true).json).cpuHardLimit)
        #expect(throws: TaskDriverError.invalidConfig(driver: "exec", reason: "\"cpu_hard_limit\" must be true or false")) {
            try ExecConfig(.object(["command": "/bin/true", "cpu_hard_limit": "yes"]))
        }
        #expect(throws: TaskDriverError.invalidConfig(driver: "docker", reason: "\"cpu_hard_limit\" must be true or false")) {
            try DockerConfig(.object(["image": "busybox:1", "cpu_hard_limit": 1]))
        }
        // runc's conversion: the ends of the v1 range map to the ends of v2's.
        #expect(CgroupSupport.weight(shares: 2) == 1 && CgroupSupport.weight(shares: 262_144) == 10_000)
        #expect(CgroupSupport.shares(cores: 0.001) == 2 && CgroupSupport.shares(cores: 1.5) == 1536)
    }

    @Test("the cgroup probe refuses a hierarchy that only looks like one")
    func probeRefusesPlainDirectories() throws {
        let fake = try makeTaskDirectory().root + "/cgroup"
        try FileManager.default.createDirectory(atPath: fake + "/memory", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: fake + "/memory/cgroup.procs", contents: nil)
        let support = CgroupSupport.detect(root: fake)
        #expect(!support.enforcesMemory)
        #expect(support.reason?.contains("has no memory.limit_in_bytes") == true, "\(String(describing: support.reason))")
    }
}
