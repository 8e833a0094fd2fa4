import API
import ArgumentParser
import Foundation
import Model

/// `caravan alloc`: inspect allocations.
struct AllocCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alloc",
        abstract: "Inspect allocations: instances of a task group placed on a node.",
        subcommands: [AllocStatusCommand.self, AllocLogsCommand.self]
    )
}

/// `caravan alloc status ID`.
struct AllocStatusCommand: ClusterCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show an allocation and its tasks.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The allocation's ID, or a unique prefix of it.", valueName: "id"))
    var id: String

    @Flag(help: "Show full IDs.")
    var verbose = false

    func execute(_ context: CLIContext) async throws {
        let (a, json, _) = try await context.reader.allocationWithJSON(id)
        var exitCodes: [String: Int32] = [:]
        for task in a.taskStates.keys {
            if let code = TaskExitStatus.exitCode(task: task, allocationJSON: json) { exitCodes[task] = code }
        }
        if context.json {
            Console.json(.allocation(a, exitCodes: exitCodes))
            return
        }
        var fields = Fields()
        fields.add("ID", a.id.rawValue)
        fields.add("Name", a.name)
        fields.add("Node ID", Formatting.short(a.nodeID.rawValue, full: verbose))
        fields.add("Node Name", a.nodeName)
        fields.add("Job ID", a.jobID)
        fields.add("Job Version", String(a.jobVersion))
        fields.add("Task Group", a.group)
        fields.add("Client Status", a.clientStatus.rawValue)
        fields.add("Client Description", a.clientDescription.isEmpty ? "<none>" : a.clientDescription)
        fields.add("Desired Status", a.desiredStatus.rawValue)
        fields.add("Desired Description", a.desiredDescription.isEmpty ? "<none>" : a.desiredDescription)
        fields.add("Created", Formatting.date(a.createdAt))
        fields.add("Modified", Formatting.date(a.modifiedAt))
        if let previous = a.previousAllocation { fields.add("Replaces", Formatting.short(previous.rawValue, full: verbose)) }
        if let next = a.nextAllocation { fields.add("Replaced By", Formatting.short(next.rawValue, full: verbose)) }
        Console.out(fields.render())
        Console.out("")
        Console.out("Resources")
        var resources = Table("CPU", "Cores", "Memory", "Disk")
        let memory = "\(a.resources.memoryMB) MiB" + (a.resources.memoryMaxMB.map { " (max \($0) MiB)" } ?? "")
        resources.add("\(a.resources.cpu) MHz", String(a.resources.cores), memory, "\(a.resources.diskMB) MiB")
        Console.out(resources.render())
        Console.out("")
        Console.out("Tasks")
        guard !a.taskStates.isEmpty else {
            Console.out("No task has reported yet")
            return
        }
        var tasks = Table("Task", "State", "Failed", "Restarts", "Exit Code", "Started", "Finished")
        for (name, state) in a.taskStates.sorted(by: { $0.key < $1.key }) {
            tasks.add(
                name, state.state.rawValue, Formatting.yesNo(state.failed), String(state.restarts),
                exitCodes[name].map(String.init) ?? "-", Formatting.date(state.startedAt), Formatting.date(state.finishedAt))
        }
        Console.out(tasks.render())
    }
}
