import API
import ArgumentParser
import Foundation
import Model

/// Options of `job logs` and `alloc logs`.
struct LogOptions: ParsableArguments {
    @Flag(name: [.short, .long], help: "Keep streaming new output until the task ends (or Ctrl-C).")
    var follow = false

    @Flag(help: "Show the task's standard error instead of its standard output.")
    var stderr = false

    @Option(help: ArgumentHelp("The task to read (needed when the group has more than one).", valueName: "name"))
    var task: String?

    @Option(help: ArgumentHelp("Only the last N bytes of output.", valueName: "bytes"))
    var tail: Int64?

    func validate() throws {
        if let tail, tail < 0 { throw ValidationError("--tail must not be negative") }
    }

    /// Streams the target's output to this process's stdout (or stderr with --stderr).
    func stream(_ target: TaskLogs.Target, logs: TaskLogs) async throws {
        let output: TaskLogs.Output = stderr ? .stderr : .stdout
        let toStderr = stderr
        try await logs.stream(target, output, follow: follow, tail: tail) { data in
            if toStderr { Console.writeError(data) } else { Console.write(data) }
        }
    }
}

/// `caravan job logs ID`: a task's output, from an allocation of the job.
struct JobLogsCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print the output of a job's task.",
        discussion: "Reads from a running allocation of the job (the newest), else from the most recently changed one."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: LogOptions

    @Argument(help: ArgumentHelp("The job's ID.", valueName: "id"))
    var id: String

    func execute(_ context: CLIContext) async throws {
        let logs = TaskLogs(connection: context.connection)
        let target = try await logs.target(job: JobKey(namespace: context.namespace, id: id), task: options.task)
        try await options.stream(target, logs: logs)
    }
}

/// `caravan alloc logs ID`: a task's output.
struct AllocLogsCommand: ClusterCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print the output of an allocation's task.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: LogOptions

    @Argument(help: ArgumentHelp("The allocation's ID, or a unique prefix of it.", valueName: "id"))
    var id: String

    func execute(_ context: CLIContext) async throws {
        let logs = TaskLogs(connection: context.connection)
        let target = try await logs.target(allocation: id, task: options.task)
        try await options.stream(target, logs: logs)
    }
}
