import Foundation
import Testing

@testable import Executor

@Suite("exec driver: recover after an agent restart")
struct ExecRecoverTests {
    @Test("reattaches to a still-running task without starting it again, and sees its exit and output")
    func reattach() async throws {
        let directory = try makeTaskDirectory()
        let spec = shellTask(
            #"echo started >> "$CARAVAN_LOCAL_DIR/starts"; echo before; while [ ! -f "$CARAVAN_LOCAL_DIR/go" ]; do sleep 0.02; done; echo after; exit 4"#
        )
        let handle = try startInAnotherAgent(spec, in: directory)
        // The agent that started it is gone; the task still runs.
        let pid = try #require(handle.state["pid"]?.intValue)
        #expect(ProcStat.read(Int32(pid))?.isAlive == true)

        let driver = ExecDriver()
        try await driver.recover(handle)
        try await driver.recover(handle)  // idempotent
        #expect(try await driver.stats(handle).memoryBytes > 0)
        _ = FileManager.default.createFile(atPath: directory.local + "/go", contents: nil)
        let result = try await driver.wait(handle)
        #expect(result.exitCode == 4)
        #expect(try String(contentsOfFile: directory.local + "/starts", encoding: .utf8) == "started\n")
        #expect(handle.stdout.readText() == "before\nafter\n")
        try await driver.destroy(handle)
    }

    @Test("a task the /bin/sh supervisor started is recovered by a driver with the static one")
    func recoverAcrossSupervisors() async throws {
        let directory = try makeTaskDirectory()
        let first = ExecDriver(supervisor: .shell)
        let handle = try await first.start(
            shellTask(#"echo before; while [ ! -f "$CARAVAN_LOCAL_DIR/go" ]; do sleep 0.02; done; exit 5"#), in: directory)
        #expect(await eventually { handle.stdout.readText() == "before\n" })
        let second = ExecDriver()
        try await second.recover(handle)
        _ = FileManager.default.createFile(atPath: directory.local + "/go", contents: nil)
        #expect(try await second.wait(handle).exitCode == 5)
        try await second.destroy(handle)
    }

    @Test("a task that ended while no agent watched reports its recorded exit status")
    func endedMeanwhile() async throws {
        let directory = try makeTaskDirectory()
        let handle = try startInAnotherAgent(shellTask("exit 9"), in: directory)
        #expect(await eventually { FileManager.default.fileExists(atPath: directory.driverState + "/exit") })
        let driver = ExecDriver()
        try await driver.recover(handle)
        #expect(try await driver.wait(handle).exitCode == 9)
        try await driver.destroy(handle)
    }

    @Test("a recovered task can be stopped, with kill escalation")
    func stopAfterRecover() async throws {
        let directory = try makeTaskDirectory()
        let handle = try startInAnotherAgent(
            shellTask("trap '' TERM; echo ignoring; while :; do sleep 0.05; done", killTimeout: .milliseconds(200)), in: directory)
        let driver = ExecDriver()
        try await driver.recover(handle)
        // Stopped before its shell ignores SIGTERM, the task would end by it, not by the escalation.
        #expect(await eventually { handle.stdout.readText() == "ignoring\n" })
        try await driver.stop(handle)
        #expect(try await driver.wait(handle).signal == .kill)
        try await driver.destroy(handle)
    }
}

@Suite("exec driver: the supervisor's installation")
struct ExecSupervisorInstallTests {
    @Test("without a directory, every driver of the user shares one installed program, left in place")
    func sharedInstallation() throws {
        #if os(Linux) && (arch(x86_64) || arch(arm64))
        let first = ExecSupervisor.install(in: nil)
        let second = ExecSupervisor.install(in: nil)
        guard case .program(let path) = first else {
            Issue.record("no program installed: \(first)")
            return
        }
        #expect(second == first)
        #expect(FileManager.default.isExecutableFile(atPath: path))
        #expect(path.contains("caravan-exec-supervisor-\(getuid())/"))
        #endif
    }

    @Test("a supervisor that cannot join a cgroup it is told to runs nothing and says why", arguments: [false, true])
    func failedJoin(shell: Bool) throws {
        #if os(Linux) && (arch(x86_64) || arch(arm64))
        let run = try Self.runSupervisor(shell: shell) { state in "join \(state)/no-such-cgroup/tasks\ngo\n" }
        #expect(run.status == 125)
        #expect(!FileManager.default.fileExists(atPath: run.marker), "the command ran")
        #expect(!FileManager.default.fileExists(atPath: run.state + "/exit"))
        // The static program knows the errno (ENOENT); the shell does not.
        let error = try String(contentsOfFile: run.state + "/error", encoding: .utf8)
        #expect(error == "join \(shell ? 0 : ENOENT) \(run.state)/no-such-cgroup/tasks\n")
        #endif
    }

    @Test("a task that cannot take its user runs nothing, and the static supervisor says why", arguments: [false, true])
    func failedUser(shell: Bool) throws {
        #if os(Linux) && (arch(x86_64) || arch(arm64))
        // Only root may become root: as root, the supervisor itself runs as nobody.
        let run = try Self.runSupervisor(shell: shell, asNobody: getuid() == 0) { _ in "user 0 0\ngo\n" }
        #expect(run.status != 0)
        #expect(!FileManager.default.fileExists(atPath: run.marker), "the command ran")
        if !shell {
            // setpriv reports its failure on the task's stderr, and the shell cannot tell it from the task's own.
            #expect(run.status == 125)
            #expect(try String(contentsOfFile: run.state + "/error", encoding: .utf8) == "user \(EPERM) 0 0\n")
        }
        #endif
    }

    #if os(Linux) && (arch(x86_64) || arch(arm64))
    /// Runs the static supervisor or the shell one on a fresh state directory,
    /// with `/bin/touch MARKER` as its command and `input(stateDirectory)` as
    /// what the driver tells it; `asNobody` runs the supervisor itself as nobody.
    private static func runSupervisor(
        shell: Bool, asNobody: Bool = false, input: (String) -> String
    ) throws -> (status: Int32, state: String, marker: String) {
        let supervisor = shell ? ExecSupervisor.shell : ExecSupervisor.install(in: nil)
        let state = try makeTaskDirectory().driverState
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        for stream in ["stdout", "stderr"] { #expect(mkfifo(state + "/\(stream).fifo", 0o600) == 0) }
        let marker = state + "/ran"
        var (executable, arguments) = supervisor.invocation(stateDirectory: state, command: "/bin/touch", arguments: [marker])
        if asNobody {
            let nobody = try #require(getpwnam("nobody")?.pointee)
            for path in [state, state + "/stdout.fifo", state + "/stderr.fifo"] { chown(path, nobody.pw_uid, nobody.pw_gid) }
            arguments = ["--reuid=\(nobody.pw_uid)", "--regid=\(nobody.pw_gid)", "--clear-groups", "--", executable] + arguments
            executable = "/usr/bin/setpriv"
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardInput = pipe
        try process.run()
        pipe.fileHandleForWriting.write(Data(input(state).utf8))
        try pipe.fileHandleForWriting.close()
        process.waitUntilExit()
        return (process.terminationStatus, state, marker)
    }
    #endif

    @Test("an agent's directory gets exec-supervisor, replaced by the next agent")
    func agentInstallation() throws {
        #if os(Linux) && (arch(x86_64) || arch(arm64))
        let directory = try makeTaskDirectory().root
        #expect(ExecSupervisor.install(in: directory) == .program(path: directory + "/exec-supervisor"))
        #expect(ExecSupervisor.install(in: directory) == .program(path: directory + "/exec-supervisor"))
        #expect(FileManager.default.isExecutableFile(atPath: directory + "/exec-supervisor"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("exec-supervisor") } == ["exec-supervisor"],
                "no staged copy is left")
        #endif
    }
}
