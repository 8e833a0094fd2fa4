import Foundation
import NIOPosix
import Testing

@testable import Executor

/// The private Docker engine of `scripts/dockerd-test.sh`, when it runs.
enum DockerTestEngine {
    static let image = "caravan-test/busybox:1"

    static let socket: String? = {
        let path = ProcessInfo.processInfo.environment["CARAVAN_TEST_DOCKER_SOCKET"] ?? "/tmp/caravan-dockerd/docker.sock"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }()

    static let skipReason: Comment = """
        no Docker engine for tests: run `scripts/dockerd-test.sh start` (make test does) \
        or set CARAVAN_TEST_DOCKER_SOCKET
        """
}

@Suite("docker driver without an engine")
struct DockerDriverLifetimeTests {
    @Test("the driver can be released on an event loop thread, where caravand's tasks run")
    func releasedOnAnEventLoop() throws {
        // It used to shut its HTTP client down with syncShutdown, which traps there.
        try MultiThreadedEventLoopGroup.singleton.next().submit {
            _ = DockerDriver(socketPath: "/nonexistent/docker.sock")
        }.wait()
    }
}

@Suite("docker driver", .enabled(if: DockerTestEngine.socket != nil, DockerTestEngine.skipReason))
struct DockerDriverTests {
    let driver = DockerDriver(socketPath: DockerTestEngine.socket ?? "")

    func task(_ script: String, memory: Int? = nil, killTimeout: Duration = .seconds(5), timeout: Duration? = nil, image: String = DockerTestEngine.image) -> TaskSpec {
        TaskSpec(
            id: "d-\(UUID().uuidString.prefix(8).lowercased())", name: "main", allocationID: "alloc-7", driver: "docker",
            config: DockerConfig(image: image, entrypoint: ["/bin/sh", "-c"], command: script, labels: ["caravan.test": "1"]).json,
            env: ["GREETING": "hello"], resources: TaskResources(memoryBytes: memory), killTimeout: killTimeout, timeout: timeout
        )
    }

    @Test("fingerprint reports the engine")
    func fingerprint() async {
        let fingerprint = await driver.fingerprint()
        #expect(fingerprint.isHealthy, "\(fingerprint.health)")
        #expect(fingerprint.version != nil)
    }

    @Test("exit code, logs, env, mounts and labels; the container is removed by destroy")
    func exitCodeAndOutput() async throws {
        let data = try makeTaskDirectory("dockerdata")
        try Data("input data\n".utf8).write(to: URL(fileURLWithPath: data.local + "/in.txt"))
        let directory = try makeTaskDirectory(inputs: ["data": data.local])
        let script = #"echo "out $GREETING"; cat /inputs/data/in.txt; echo result > /outputs/r.txt; (echo x > /inputs/data/w) 2>/dev/null || echo "inputs read-only"; echo err >&2; exit 3"#
        let handle = try await driver.start(task(script), in: directory)
        let result = try await driver.wait(handle)
        #expect(result.exitCode == 3)
        #expect(handle.stdout.readText() == "out hello\ninput data\ninputs read-only\n")
        #expect(handle.stderr.readText() == "err\n")
        #expect(try String(contentsOfFile: directory.outputs + "/r.txt", encoding: .utf8) == "result\n")
        let client = DockerClient(socketPath: DockerTestEngine.socket!, http: .shared)
        let containerID = try #require(handle.state["container_id"]?.stringValue)
        let inspect = try await client.expect(.GET, "/containers/\(containerID)/json").body
        #expect(inspect?["Config"]?["Labels"]?["caravan.alloc_id"]?.stringValue == "alloc-7")
        #expect(inspect?["HostConfig"]?["NetworkMode"]?.stringValue == "none")
        try await driver.destroy(handle)
        #expect(try await client.send(.GET, "/containers/\(containerID)/json").status == 404)
    }

    @Test("the CPU asked for is the container's share (CpuShares), and its cap (NanoCpus) only with cpu_hard_limit")
    func cpuShareOrCap() async throws {
        let client = DockerClient(socketPath: DockerTestEngine.socket!, http: .shared)
        for hardLimit in [false, true] {
            var spec = task("exit 0")
            spec.resources = TaskResources(cpuCores: 0.5)
            spec.config = DockerConfig(image: DockerTestEngine.image, entrypoint: ["/bin/sh", "-c"], command: "exit 0", cpuHardLimit: hardLimit).json
            let handle = try await driver.start(spec, in: try makeTaskDirectory())
            _ = try await driver.wait(handle)
            let containerID = try #require(handle.state["container_id"]?.stringValue)
            let hostConfig = try await client.expect(.GET, "/containers/\(containerID)/json").body?["HostConfig"]
            #expect(hostConfig?["CpuShares"]?.intValue == (hardLimit ? 0 : 512), "\(String(describing: hostConfig))")
            #expect(hostConfig?["NanoCpus"]?.intValue == (hardLimit ? 500_000_000 : 0), "\(String(describing: hostConfig))")
            try await driver.destroy(handle)
        }
    }

    @Test("an unknown image is a clear error")
    func unknownImage() async throws {
        let directory = try makeTaskDirectory()
        let error = await #expect(throws: TaskDriverError.self) {
            _ = try await driver.start(task("true", image: "caravan-test/no-such-image:9"), in: directory)
        }
        #expect(error?.description.hasPrefix("image \"caravan-test/no-such-image:9\" is not available: it is not present on this node and pulling it failed") == true)
    }

    @Test("a missing binary is a clear error")
    func missingBinary() async throws {
        let directory = try makeTaskDirectory()
        var spec = task("true")
        spec.config = DockerConfig(image: DockerTestEngine.image, entrypoint: ["/no/such/binary"], labels: ["caravan.test": "1"]).json
        let error = await #expect(throws: TaskDriverError.self) { _ = try await driver.start(spec, in: directory) }
        #expect(error?.description.hasPrefix("executable \"/no/such/binary\" cannot be run") == true, "\(String(describing: error))")
    }

    @Test("a task past its timeout is stopped; one that ignores SIGTERM is killed after the kill timeout")
    func timeoutAndKillEscalation() async throws {
        let directory = try makeTaskDirectory()
        // PID 1 in a container ignores SIGTERM unless it handles it.
        let handle = try await driver.start(task("sleep 60", killTimeout: .milliseconds(300), timeout: .milliseconds(500)), in: directory)
        let (result, elapsed) = try await timed { try await driver.wait(handle) }
        #expect(result.timedOut)
        #expect(result.signal == .kill)
        #expect(elapsed < .seconds(10))
        try await driver.destroy(handle)
    }

    @Test("the memory limit OOM-kills the container")
    func memoryLimit() async throws {
        let directory = try makeTaskDirectory()
        let handle = try await driver.start(task("head -c 200000000 /dev/zero | tail -c 100000000 >/dev/null", memory: 32 << 20), in: directory)
        let result = try await driver.wait(handle)
        #expect(result.oomKilled)
        #expect(result.exitCode != 0)
        try await driver.destroy(handle)
    }

    @Test("a SIGKILL the driver did not send is reported as the signal, not as out of memory")
    func killedFromOutside() async throws {
        let directory = try makeTaskDirectory()
        // Under a memory limit, as an OOM kill would be; ready once it runs.
        let handle = try await driver.start(task("echo ready; sleep 60", memory: 64 << 20), in: directory)
        #expect(await eventually { handle.stdout.readText() == "ready\n" })
        let client = DockerClient(socketPath: DockerTestEngine.socket!, http: .shared)
        let containerID = try #require(handle.state["container_id"]?.stringValue)
        try await client.expect(.POST, "/containers/\(containerID)/kill?signal=KILL")
        let result = try await driver.wait(handle)
        #expect(result.signal == .kill)
        #expect(result.exitCode == 137)
        #expect(!result.oomKilled)
        try await driver.destroy(handle)
    }

    @Test("an image by digest, or from a registry with a port, is pulled by its reference; one that cannot be had is a clear error")
    func pullByReference() async throws {
        let directory = try makeTaskDirectory()
        let digest = "sha256:" + String(repeating: "0123456789abcdef", count: 4)
        for image in ["caravan-test/no-such-image@\(digest)", "localhost:1/caravan-test/no-such-image:2", "localhost:1/no-such-image@\(digest)"] {
            let error = await #expect(throws: TaskDriverError.self) { _ = try await driver.start(task("true", image: image), in: directory) }
            let text = error?.description ?? ""
            #expect(text.hasPrefix("image \"\(image)\" is not available: it is not present on this node and pulling it failed"), "\(text)")
            // The engine understood the reference and tried its registry.
            #expect(!text.contains("invalid reference format"), "\(text)")
            #expect(!text.contains("repository name must"), "\(text)")
        }
        // A malformed reference never reaches the engine.
        let invalid = await #expect(throws: TaskDriverError.self) { _ = try await driver.start(task("true", image: "Caravan/Upper:1"), in: directory) }
        #expect(invalid?.description.hasPrefix("invalid docker driver configuration: \"image\": \"Caravan/Upper:1\" is not an image reference") == true, "\(String(describing: invalid))")
    }

    @Test("recover reattaches to a running container after an agent restart, without a second start")
    func recover() async throws {
        let directory = try makeTaskDirectory()
        let spec = task(#"echo started >> /local/starts; echo before; while [ ! -f /local/go ]; do sleep 0.02; done; echo after; exit 4"#)
        let handle = try startInAnotherAgent(spec, in: directory, dockerSocket: DockerTestEngine.socket)
        let restarted = DockerDriver(socketPath: DockerTestEngine.socket!)
        try await restarted.recover(handle)
        _ = FileManager.default.createFile(atPath: directory.local + "/go", contents: nil)
        let result = try await restarted.wait(handle)
        #expect(result.exitCode == 4)
        #expect(try String(contentsOfFile: directory.local + "/starts", encoding: .utf8) == "started\n")
        #expect(handle.stdout.readText().hasSuffix("after\n"))
        try await restarted.destroy(handle)
        let error = await #expect(throws: TaskDriverError.self) { try await DockerDriver(socketPath: DockerTestEngine.socket!).recover(handle) }
        #expect(error?.description.contains("no longer exists") == true)
    }
}
