import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Foundation
import Synchronization

/// Runs a task as a container through the Docker Engine API on its unix socket
/// (not the docker CLI).
///
/// The container gets the task's image, entrypoint, command and args, env and
/// working directory; the task directory mounted at `/local`, `/secrets`
/// (read-only), `/outputs` and `/inputs/<name>` (read-only); network mode
/// `none` unless configured; the memory limit (no swap) and the CPU asked for
/// (a share, `CpuShares`, or with `cpu_hard_limit` a cap, `NanoCpus`); and
/// labels `caravan.alloc_id`, `caravan.task_id` and `caravan.task_name`. A
/// missing image is pulled. stdout and stderr are followed into rotating
/// files in `logs/`. ``destroy(_:)`` removes the container. Containers
/// outlive the agent, so ``recover(_:)`` reattaches by container id (log
/// lines written while no agent followed are fetched from the last log write
/// on, to the second).
public final class DockerDriver: TaskDriver {
    /// `docker`.
    public let name = "docker"
    /// Where the Docker engine listens by default.
    public static let defaultSocket = "/var/run/docker.sock"

    private let client: DockerClient
    private let tasks = Mutex<[String: DockerTask]>([:])

    /// A docker driver talking to the engine at `socketPath`.
    public init(socketPath: String = DockerDriver.defaultSocket) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 512)
        configuration.timeout = .init(connect: .seconds(5), read: nil)
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        self.client = DockerClient(socketPath: socketPath, http: http)
    }

    deinit {
        // Not syncShutdown: it traps on an event loop thread, and with
        // caravand's tasks on NIO's loops the last reference can go there.
        client.http.shutdown { _ in }
    }

    public func fingerprint() async -> DriverFingerprint {
        guard FileManager.default.fileExists(atPath: client.socketPath) else {
            return DriverFingerprint(driver: name, health: .unavailable(reason: "no Docker engine socket at \(client.socketPath)"))
        }
        do {
            let version = try await client.expect(.GET, "/version", timeout: .seconds(5)).body
            return DriverFingerprint(
                driver: name, health: .healthy, version: version?["Version"]?.stringValue,
                attributes: [
                    "driver.docker.api_version": version?["ApiVersion"]?.stringValue ?? "",
                    "driver.docker.socket": client.socketPath,
                ]
            )
        } catch {
            return DriverFingerprint(driver: name, health: .unavailable(reason: "the Docker engine at \(client.socketPath) does not answer: \(error)"))
        }
    }

    public func start(_ task: TaskSpec, in directory: TaskDirectory) async throws(TaskDriverError) -> TaskHandle {
        let config = try DockerConfig(task.config)
        let image = try config.imageReference()
        do {
            try await ensureImage(image)
        } catch let error as TaskDriverError {
            throw error
        } catch {
            throw .engineUnavailable(driver: name, reason: "\(error)")
        }
        let containerName = "caravan-" + task.id.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" }
        let env = TaskEnvironment.variables(for: task, directory: directory, guestPaths: true)
        var labels = config.labels
        labels["caravan.alloc_id"] = task.allocationID
        labels["caravan.task_id"] = task.id
        labels["caravan.task_name"] = task.name
        var hostConfig: [String: JSONValue] = [
            "NetworkMode": .string(config.networkMode),
            "Binds": .array(directory.guestMounts().map { .string("\($0.hostPath):\($0.guestPath)\($0.readOnly ? ":ro" : "")") }),
        ]
        if let memory = task.resources.memoryBytes {
            hostConfig["Memory"] = .number(Double(memory))
            hostConfig["MemorySwap"] = .number(Double(memory))
        }
        if let cores = task.resources.cpuCores {
            if config.cpuHardLimit {
                hostConfig["NanoCpus"] = .number((cores * 1e9).rounded())
            } else {
                hostConfig["CpuShares"] = .number(Double(CgroupSupport.shares(cores: cores)))
            }
        }
        var body: [String: JSONValue] = [
            "Image": .string(config.image),
            "Env": .array(env.sorted(by: { $0.key < $1.key }).map { .string("\($0.key)=\($0.value)") }),
            "Labels": .object(labels.mapValues { .string($0) }),
            "HostConfig": .object(hostConfig),
            "AttachStdout": false, "AttachStderr": false, "Tty": false, "OpenStdin": false,
        ]
        if let entrypoint = config.entrypoint { body["Entrypoint"] = .array(entrypoint.map { .string($0) }) }
        let command = (config.command.map { [$0] } ?? []) + config.args
        if !command.isEmpty { body["Cmd"] = .array(command.map { .string($0) }) }
        if let workDir = config.workDir { body["WorkingDir"] = .string(workDir) }

        let containerID: String
        do {
            // A container left by an earlier attempt of the same task goes first.
            try await client.expect(.DELETE, "/containers/\(containerName)?force=1", allowing: [404])
            let created = try await client.expect(.POST, "/containers/create?name=\(containerName)", json: .object(body)).body
            guard let id = created?["Id"]?.stringValue else { throw DockerClient.Failure(status: 0, message: "no container id in the answer") }
            containerID = id
        } catch {
            throw .startFailed(taskID: task.id, reason: "creating the container failed: \(error)")
        }
        do {
            try await client.expect(.POST, "/containers/\(containerID)/start", allowing: [304])
        } catch {
            _ = try? await client.send(.DELETE, "/containers/\(containerID)?force=1")
            let text = "\(error)"
            if text.contains("executable file not found") || text.contains("no such file or directory") {
                throw .executableNotFound(config.entrypoint?.first ?? command.first ?? "(image default)", reason: text)
            }
            throw .startFailed(taskID: task.id, reason: "starting the container failed: \(text)")
        }
        let state: JSONValue = ["container_id": .string(containerID), "container_name": .string(containerName)]
        let handle = TaskHandle(driver: name, spec: task, directory: directory, startedAt: Date(), state: state)
        let running: DockerTask
        do {
            running = try DockerTask(handle: handle, containerID: containerID)
        } catch {
            throw .startFailed(taskID: task.id, reason: "cannot open the log files: \(error)")
        }
        tasks.withLock { $0[task.id] = running }
        watch(running, logsSince: nil)
        return handle
    }

    public func wait(_ handle: TaskHandle) async throws(TaskDriverError) -> TaskResult {
        try await task(for: handle).result.value()
    }

    public func signal(_ handle: TaskHandle, _ signal: TaskSignal) async throws(TaskDriverError) {
        let running = try task(for: handle)
        try await kill(running, signal)
    }

    public func stop(_ handle: TaskHandle) async throws(TaskDriverError) {
        let running = try task(for: handle)
        guard running.result.current == nil else { return }
        try await kill(running, handle.killSignal)
        if await running.result.value(timeout: handle.killTimeout) == nil {
            try await kill(running, .kill)
        }
        _ = await running.result.value()
    }

    public func stats(_ handle: TaskHandle) async throws(TaskDriverError) -> TaskStats {
        let running = try task(for: handle)
        do {
            let stats = try await client.expect(.GET, "/containers/\(running.containerID)/stats?stream=false").body
            let memory = stats?["memory_stats"]?["usage"]?.intValue ?? 0
            let peak = stats?["memory_stats"]?["max_usage"]?.intValue
            let cpu = stats?["cpu_stats"]?["cpu_usage"]?["total_usage"]?.intValue ?? 0
            return TaskStats(cpuTime: .nanoseconds(cpu), memoryBytes: memory, peakMemoryBytes: peak)
        } catch {
            throw .engineFailed(taskID: handle.taskID, operation: "reading stats", reason: "\(error)")
        }
    }

    public func recover(_ handle: TaskHandle) async throws(TaskDriverError) {
        try checkOwnership(of: handle)
        if tasks.withLock({ $0[handle.taskID] }) != nil { return }
        guard let containerID = handle.state["container_id"]?.stringValue else {
            throw .notRecoverable(taskID: handle.taskID, reason: "the handle holds no container id")
        }
        let inspect: JSONValue?
        do {
            let answer = try await client.send(.GET, "/containers/\(containerID)/json")
            guard answer.status != 404 else {
                throw TaskDriverError.notRecoverable(taskID: handle.taskID, reason: "container \(containerID.prefix(12)) no longer exists")
            }
            guard answer.status == 200 else { throw DockerClient.Failure(status: answer.status, message: answer.text) }
            inspect = answer.body
        } catch let error as TaskDriverError {
            throw error
        } catch {
            throw .notRecoverable(taskID: handle.taskID, reason: "the Docker engine does not answer: \(error)")
        }
        let running: DockerTask
        do {
            running = try DockerTask(handle: handle, containerID: containerID)
        } catch {
            throw .notRecoverable(taskID: handle.taskID, reason: "cannot open the log files: \(error)")
        }
        tasks.withLock { $0[handle.taskID] = running }
        if inspect?["State"]?["Running"]?.boolValue == true {
            let lastWrite = handle.stdout.lastWrite(orStderr: handle.stderr) ?? handle.startedAt
            watch(running, logsSince: lastWrite)
        } else {
            running.closeLogs()
            running.result.resolve(Self.result(from: inspect, timedOut: false))
        }
    }

    public func destroy(_ handle: TaskHandle) async throws(TaskDriverError) {
        let running = try task(for: handle)
        do {
            try await client.expect(.DELETE, "/containers/\(running.containerID)?force=1&v=1", allowing: [404])
        } catch {
            throw .engineFailed(taskID: handle.taskID, operation: "removing the container", reason: "\(error)")
        }
        _ = await running.result.value(timeout: .seconds(10))
        running.closeLogs()
        tasks.withLock { _ = $0.removeValue(forKey: handle.taskID) }
    }

    // MARK: - Internals

    private func task(for handle: TaskHandle) throws(TaskDriverError) -> DockerTask {
        try checkOwnership(of: handle)
        guard let running = tasks.withLock({ $0[handle.taskID] }) else { throw .unknownTask(handle.taskID) }
        return running
    }

    private func kill(_ running: DockerTask, _ signal: TaskSignal) async throws(TaskDriverError) {
        do {
            // 409: the container is not running any more.
            try await client.expect(.POST, "/containers/\(running.containerID)/kill?signal=\(signal.name)", allowing: [404, 409])
        } catch {
            throw .engineFailed(taskID: running.handle.taskID, operation: "signalling the container", reason: "\(error)")
        }
    }

    /// Follows the container's logs and waits for its end.
    private func watch(_ running: DockerTask, logsSince since: Date?) {
        let client = self.client
        let logs = Task.detached {
            var demux = DockerLogDemultiplexer()
            let sinceQuery = since.map { "&since=\(Int($0.timeIntervalSince1970))" } ?? ""
            _ = try? await client.stream(.GET, "/containers/\(running.containerID)/logs?follow=1&stdout=1&stderr=1\(sinceQuery)") { bytes in
                demux.feed(bytes, stdout: { running.stdout.write($0) }, stderr: { running.stderr.write($0) })
            }
        }
        if let deadline = running.handle.deadline {
            Task.detached { [weak self] in
                let remaining = max(0, deadline.timeIntervalSinceNow)
                if await running.result.value(timeout: .milliseconds(Int64(remaining * 1000))) == nil {
                    running.markTimedOut()
                    try? await self?.stop(running.handle)
                }
            }
        }
        Task.detached {
            var inspect: JSONValue?
            do {
                _ = try await client.expect(.POST, "/containers/\(running.containerID)/wait?condition=not-running", timeout: .seconds(365 * 24 * 3600))
                inspect = try await client.expect(.GET, "/containers/\(running.containerID)/json").body
            } catch {
                inspect = nil
            }
            // The log stream ends with the container; give it a moment to deliver the tail.
            _ = await Task.detached { await logs.value }.result(timeout: .seconds(2))
            logs.cancel()
            running.closeLogs()
            var result = Self.result(from: inspect, timedOut: running.timedOut)
            if inspect == nil { result.message = "the container vanished before its exit status could be read" }
            if result.signal == .kill, !result.oomKilled, (inspect?["HostConfig"]?["Memory"]?.intValue ?? 0) > 0 {
                result.oomKilled = await Self.oomEventArrives(client: client, containerID: running.containerID, since: running.handle.startedAt)
            }
            running.result.resolve(result)
        }
    }

    /// How the container ended, from its inspection. Out of memory only when the
    /// engine says so (`State.OOMKilled`): a SIGKILL under a memory limit may have
    /// come from anyone (`docker kill`, the host's OOM killer outside the
    /// container's cgroup, another agent), and is reported as the signal it is.
    static func result(from inspect: JSONValue?, timedOut: Bool) -> TaskResult {
        let state = inspect?["State"]
        let code = Int32(state?["ExitCode"]?.intValue ?? 137)
        let error = state?["Error"]?.stringValue ?? ""
        return TaskResult(
            shellStatus: code, oomKilled: state?["OOMKilled"]?.boolValue ?? false, timedOut: timedOut,
            message: error.isEmpty ? nil : error
        )
    }

    /// Whether the engine reports an `oom` event for the container within about
    /// a second. containerd delivers a container's OOM event and its exit apart,
    /// and the engine sets `State.OOMKilled` only from an event that came first:
    /// a container the kernel killed for memory can look like a plain SIGKILL
    /// when it exits, with its `oom` event following (seen under load: oom, die, oom).
    static func oomEventArrives(client: DockerClient, containerID: String, since: Date) async -> Bool {
        let filters = #"{"container":["\#(containerID)"],"event":["oom"]}"#
        let query = "since=\(Int(since.timeIntervalSince1970) - 1)&filters=\(queryEncoded(filters))"
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(1)
        while true {
            // `until` now: the events so far, answered at once.
            let until = String(Date().timeIntervalSince1970)
            if let answer = try? await client.send(.GET, "/events?\(query)&until=\(until)", timeout: .seconds(5)),
                answer.status == 200, answer.text.contains(#""Action":"oom""#)
            {
                return true
            }
            if clock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Makes sure `image` is present, pulling it when missing.
    private func ensureImage(_ image: ImageReference) async throws {
        let name = image.description
        let encoded = name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? name
        let present = try await client.send(.GET, "/images/\(encoded)/json", timeout: .seconds(10))
        if present.status == 200 { return }
        let (fromImage, tag) = image.pullParameters
        let query = "fromImage=\(Self.queryEncoded(fromImage))&tag=\(Self.queryEncoded(tag))"
        let pull = try await client.send(.POST, "/images/create?\(query)", timeout: .seconds(600))
        var failure: String?
        if pull.status != 200 {
            failure = pull.body?["message"]?.stringValue ?? pull.text
        } else {
            for line in pull.text.split(whereSeparator: \.isNewline) {
                if let message = try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))["error"]?.stringValue {
                    failure = message
                }
            }
        }
        if let failure {
            throw TaskDriverError.imageNotFound(name, reason: "it is not present on this node and pulling it failed: \(failure.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}

extension DockerDriver {
    /// `text` as one query parameter's value.
    static func queryEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }
}

/// One container the docker driver watches.
final class DockerTask: Sendable {
    let handle: TaskHandle
    let containerID: String
    let stdout: LogRotator
    let stderr: LogRotator
    let result = ResultLatch<TaskResult>()
    private let timedOutFlag = Mutex(false)

    init(handle: TaskHandle, containerID: String) throws {
        self.handle = handle
        self.containerID = containerID
        self.stdout = LogRotator(directory: handle.directory.logs, name: "\(handle.taskName).stdout", policy: handle.logs)
        self.stderr = LogRotator(directory: handle.directory.logs, name: "\(handle.taskName).stderr", policy: handle.logs)
    }

    var timedOut: Bool { timedOutFlag.withLock { $0 } }
    func markTimedOut() { timedOutFlag.withLock { $0 = true } }

    func closeLogs() {
        stdout.close()
        stderr.close()
    }
}

extension Task where Failure == Never {
    /// The task's value, or `nil` when it takes longer than `timeout`.
    func result(timeout: Duration) async -> Success? {
        let latch = ResultLatch<Success>()
        Task<Void, Never>.detached { latch.resolve(await self.value) }
        return await latch.value(timeout: timeout)
    }
}

extension LogReader {
    /// When either stream's newest file was last written.
    func lastWrite(orStderr other: LogReader) -> Date? {
        [self, other].compactMap { reader -> Date? in
            guard let index = reader.fileIndices.last else { return nil }
            let path = LogReader.path(directory: reader.directory, name: reader.name, index: index)
            return (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        }.max()
    }
}
