import API
import ArgumentParser
import Foundation
import Model
import Synchronization
import Transport

/// `caravan run -- CMD ARGS…`: run one command on the cluster, like `docker run`.
struct RunCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a command once on the cluster, stream its output, and exit with its exit code.",
        discussion: """
            Submits a one-off batch job (one task; no restarts, no reschedules) that runs CMD with \
            the exec driver, in a Docker container with --image, or as a WASI module with --wasm; \
            waits for it to finish while streaming its stdout and stderr here; then exits with its \
            exit code. Only the task's output goes to stdout; progress (with --verbose) and errors \
            go to stderr. --json applies to what --detach prints.

            --wasm names a module file that the client node reads at the same absolute path (as \
            in `caravand dev`, or a shared filesystem): the module is not uploaded.

            Exit codes: the task's exit code; 125 when it did not run (invalid options, connection \
            failure, or it could not be placed — the job is then stopped).

            Examples:
              caravan run -- /bin/echo hello
              caravan run --image busybox:1 -- sh -c 'echo hi; exit 3'
              caravan run --wasm ./tool.wasm -- --input data.txt
            """
    )

    static var failureExitCode: Int32 { 125 }

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Run in a Docker container of this image (the docker driver).", valueName: "image"))
    var image: String?

    @Option(help: ArgumentHelp("Run this WASI module (the wasm driver); CMD ARGS are its arguments.", valueName: "file"))
    var wasm: String?

    @Option(help: ArgumentHelp("The job's ID (default: run-<8 hex digits>).", valueName: "id"))
    var id: String?

    @Option(name: [.short, .long], help: ArgumentHelp("An environment variable for the task (repeatable).", valueName: "KEY=VALUE"))
    var env: [String] = []

    @Option(help: ArgumentHelp("CPU to reserve, in MHz.", valueName: "MHz"))
    var cpu = 100

    @Option(help: ArgumentHelp("Memory to reserve, in MiB.", valueName: "MiB"))
    var memory = 300

    @Option(name: .customLong("datacenter"), help: ArgumentHelp("A datacenter the task may run in (repeatable; default: any).", valueName: "dc"))
    var datacenters: [String] = []

    @Option(help: ArgumentHelp("Kill the task after this long, such as 30s or 10m.", valueName: "duration"))
    var timeout: String?

    @Flag(help: "Return once the job is registered, printing its ID and the evaluation ID.")
    var detach = false

    @Flag(name: .customLong("rm"), help: "Purge the job from the servers when it has finished.")
    var remove = false

    @Flag(name: [.short, .long], help: "Show the job's progress on stderr.")
    var verbose = false

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("The command and its arguments (after --).", valueName: "command"))
    var command: [String] = []

    /// The command without the `--` that separates it.
    private var commandLine: [String] {
        command.first == "--" ? Array(command.dropFirst()) : command
    }

    func validate() throws {
        if image != nil && wasm != nil { throw ValidationError("--image and --wasm choose different drivers: give one of them") }
        if image == nil && wasm == nil && commandLine.isEmpty { throw ValidationError("give the command to run after --, such as: caravan run -- /bin/echo hello") }
        for item in env where !item.contains("=") || item.hasPrefix("=") {
            throw ValidationError("--env \"\(item)\" is not KEY=VALUE")
        }
        if let timeout, Duration(nomad: timeout) == nil { throw ValidationError("--timeout \"\(timeout)\" is not a duration; write one such as 30s or 10m") }
    }

    func oneOffJob(namespace: String) throws -> OneOffJob {
        let runtime: OneOffJob.Runtime
        if let image {
            runtime = .docker(image: image)
        } else if let wasm {
            let path = URL(fileURLWithPath: wasm, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL.path
            guard FileManager.default.isReadableFile(atPath: path) else { throw CLIError("--wasm \(wasm): no readable file at \(path)") }
            runtime = .wasm(module: path)
        } else {
            runtime = .exec
        }
        var variables: [String: String] = [:]
        for item in env {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            variables[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return OneOffJob(
            id: id, runtime: runtime, command: commandLine, env: variables, namespace: namespace,
            datacenters: datacenters.isEmpty ? ["*"] : datacenters, cpu: cpu, memoryMB: memory,
            timeout: timeout.flatMap { Duration(nomad: $0) })
    }

    func execute(_ context: CLIContext) async throws {
        let job = try oneOffJob(namespace: context.namespace)
        let spec: JobSpec
        do {
            spec = try job.spec()
        } catch {
            throw CLIError("the command does not make a valid job:\n" + error.problems.map { "  - \($0)" }.joined(separator: "\n"))
        }
        var request = Caravan_Api_V1_RegisterJobRequest()
        request.specJson = WireJSON.encode(spec)
        request.idempotencyKey = UUID().uuidString.lowercased()
        let registered = try await context.connection.jobs.register(request)
        if detach {
            if context.json {
                Console.json(.object(["job_id": .string(spec.id), "evaluation_id": .string(registered.evaluationID), "index": .int(registered.meta.index)]))
            } else {
                Console.out("Job ID: \(spec.id)")
                Console.out("Evaluation ID: \(registered.evaluationID)")
            }
            return
        }
        if verbose { Console.error("==> Job \"\(spec.id)\" registered; monitoring evaluation \"\(Formatting.short(registered.evaluationID))\"") }
        let rollout = JobRollout(
            jobKey: spec.key, evaluationID: EvaluationID(registered.evaluationID), jobVersion: Int(registered.jobVersion), goal: .finished)
        let (outcome, streamed) = try await follow(rollout, afterIndex: registered.meta.index &- 1, context: context)
        let code = try await finish(outcome, streamed: streamed, spec: spec, context: context)
        if code != 0 { throw ExitCode(code) }
    }

    /// Follows the rollout, streaming the task's output once it has started.
    /// Returns the outcome and whether output was streamed.
    private func follow(_ rollout: JobRollout, afterIndex: UInt64, context: CLIContext) async throws -> (JobRollout.Outcome, Bool) {
        let logs = TaskLogs(connection: context.connection)
        let verbose = self.verbose
        var target: TaskLogs.Target?
        let relayed = [TaskLogs.Output.stdout: ByteCount(), .stderr: ByteCount()]
        let outcome: JobRollout.Outcome = try await withThrowingTaskGroup(of: RelayEvent.self) { group in
            var outcome: JobRollout.Outcome?
            for try await update in JobMonitor(connection: context.connection).watch(rollout, afterIndex: afterIndex) {
                switch update {
                case .changed(let change):
                    if verbose { Console.error(RolloutPrinter.line(for: change)) }
                    guard target == nil, let a = change.allocation, a.clientStatus == .running || a.clientStatus.isTerminal else { continue }
                    let started = TaskLogs.Target(allocation: a, task: OneOffJob.taskName)
                    target = started
                    for (output, count) in relayed {
                        group.addTask { await Self.relay(output, of: started, logs: logs, follow: true, count: count) }
                    }
                case .finished(let result, _):
                    outcome = result
                }
            }
            guard let outcome else { throw CancellationError() }
            guard target != nil else { return outcome }
            // The task has finished: its output ends soon. Give the followed
            // streams a moment to end by themselves, then stop following and
            // read what is left, so that a node which keeps a stream open
            // cannot hold the command up.
            group.addTask {
                try? await Task.sleep(for: .seconds(2))
                return .graceOver
            }
            var ended = 0
            while ended < relayed.count, let event = try await group.next() {
                guard case .ended(_, let completely) = event else { break }
                if completely { ended += 1 }
            }
            group.cancelAll()
            while let event = try await group.next() {
                if case .ended(_, true) = event { ended += 1 }
            }
            return outcome
        }
        if let target {
            for (output, count) in relayed.sorted(by: { $0.key.rawValue > $1.key.rawValue }) where !count.finished {
                // What the followed stream had not delivered yet: bounded, not followed.
                let rest = Task { await Self.relay(output, of: target, logs: logs, follow: false, count: count) }
                let timer = Task {
                    try await Task.sleep(for: .seconds(15))
                    rest.cancel()
                    Console.error("Warning: the task's \(output.rawValue) could not be read within 15 s after it finished; it may be incomplete")
                }
                _ = await rest.value
                timer.cancel()
            }
        }
        return (outcome, target != nil)
    }

    /// What a child task of ``follow(_:afterIndex:context:)`` reports.
    private enum RelayEvent: Sendable {
        /// A relay ended; `completely` when the output's end was reached.
        case ended(TaskLogs.Output, completely: Bool)
        case graceOver
    }

    /// Copies one output of the task to this process's stdout or stderr from
    /// where `count` says it got to; a failure to read it is a warning, not
    /// the run's failure.
    private static func relay(_ output: TaskLogs.Output, of target: TaskLogs.Target, logs: TaskLogs, follow: Bool, count: ByteCount) async -> RelayEvent {
        do {
            try await logs.stream(target, output, follow: follow, from: count.value) { data in
                if output == .stdout { Console.write(data) } else { Console.writeError(data) }
                count.add(data.count)
            }
            count.finish()
            return .ended(output, completely: true)
        } catch where Task.isCancelled {
            return .ended(output, completely: false)
        } catch {
            let (message, _) = Failure.describe(error, address: nil, exitCode: 1)
            Console.error("Warning: cannot read the task's \(output.rawValue): \(message)")
            count.finish()
            return .ended(output, completely: true)
        }
    }

    /// Reports the outcome; returns the exit code.
    private func finish(_ outcome: JobRollout.Outcome, streamed: Bool, spec: JobSpec, context: CLIContext) async throws -> Int32 {
        let code: Int32
        switch outcome {
        case .succeeded(let allocations), .allocationsFailed(_, let allocations):
            guard let a = allocations.first else {
                throw CLIError("job \"\(spec.id)\" finished without an allocation")
            }
            let (latest, json, _) = try await context.reader.allocationWithJSON(a.id.rawValue)
            let reported = TaskExitStatus.exitCode(task: OneOffJob.taskName, allocationJSON: json)
            code = reported ?? (latest.clientStatus == .complete ? 0 : 1)
            // A plain non-zero exit speaks for itself; a task that never got to exit is explained.
            if latest.clientStatus != .complete, !latest.clientDescription.isEmpty, reported == nil || verbose {
                Console.error("caravan run: allocation \(Formatting.short(latest.id.rawValue)) \(latest.clientStatus.rawValue): \(latest.clientDescription)")
            }
            if verbose { Console.error("==> Job \"\(spec.id)\" finished: allocation \(Formatting.short(latest.id.rawValue)) \(latest.clientStatus.rawValue), exit code \(code)") }
        case .placementFailed(let blocked, _):
            // Do not leave a one-off command queued to run at some later time.
            try? await stop(spec, purge: remove, context: context)
            throw CLIError("the command could not be placed, so job \"\(spec.id)\" was stopped:\n"
                + RolloutPrinter.placementFailureLines(blocked.statusDescription).map { "  " + $0 }.joined(separator: "\n"))
        case .evaluationFailed(let e):
            throw CLIError("job \"\(spec.id)\" was not scheduled: evaluation \(e.id) \(e.status.rawValue)\(e.statusDescription.isEmpty ? "" : ": \(e.statusDescription)")")
        }
        if remove { try await stop(spec, purge: true, context: context) }
        return code
    }

    private func stop(_ spec: JobSpec, purge: Bool, context: CLIContext) async throws {
        var request = Caravan_Api_V1_StopJobRequest()
        request.jobID = spec.id
        request.namespace = spec.namespace
        request.purge = purge
        _ = try await context.connection.jobs.stop(request)
    }
}

/// How many bytes of one output were copied, and whether its end was reached.
private final class ByteCount: Sendable {
    private let state = Mutex<(value: Int64, finished: Bool)>((0, false))
    var value: Int64 { state.withLock { $0.value } }
    var finished: Bool { state.withLock { $0.finished } }
    func add(_ n: Int) { state.withLock { $0.value += Int64(n) } }
    func finish() { state.withLock { $0.finished = true } }
}

extension JobRollout.Change {
    /// The allocation the change is about, if any.
    var allocation: Allocation? {
        switch self {
        case .allocationPlaced(let a), .allocationStatus(let a, _): a
        case .evaluation: nil
        }
    }
}
