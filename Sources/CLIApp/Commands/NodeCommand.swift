import API
import ArgumentParser
import Foundation
import Model
import Transport

/// `caravan node`: worker nodes.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Inspect client nodes; drain them or mark them (in)eligible for new work.",
        subcommands: [NodeStatusCommand.self, NodeDrainCommand.self, NodeEligibilityCommand.self]
    )
}

/// `--enable` or `--disable` of `node drain`.
enum DrainToggle: String, EnumerableFlag {
    case enable, disable

    static func help(for value: DrainToggle) -> ArgumentHelp? {
        switch value {
        case .enable: "Start draining the node."
        case .disable: "Cancel the node's drain."
        }
    }
}

/// `--enable` or `--disable` of `node eligibility`.
enum EligibilityToggle: String, EnumerableFlag {
    case enable, disable

    static func help(for value: EligibilityToggle) -> ArgumentHelp? {
        switch value {
        case .enable: "Let the scheduler place new allocations on the node."
        case .disable: "Place no new allocations on the node (running ones stay)."
        }
    }
}

extension CLIContext {
    /// The full node for an ID or unique prefix.
    func node(_ id: String) async throws -> Caravan_Api_V1_GetNodeResponse {
        var request = Caravan_Api_V1_GetNodeRequest()
        request.nodeID = id
        return try await connection.nodes.get(request)
    }
}

/// `caravan node status [ID]`.
struct NodeStatusCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "List client nodes, or show one with its allocations.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The node's ID (or a unique prefix); without it, list every node.", valueName: "id"))
    var id: String?

    @Flag(help: "Show full IDs.")
    var verbose = false

    func execute(_ context: CLIContext) async throws {
        guard let id else {
            let nodes = try await context.reader.nodes()
            if context.json {
                Console.json(.array(nodes.map { .node($0) }))
                return
            }
            guard !nodes.isEmpty else {
                Console.out("No nodes registered")
                return
            }
            var table = Table("ID", "Name", "DC", "Pool", "Class", "Drain", "Eligibility", "Status", "Drivers")
            for n in nodes {
                table.add(
                    Formatting.short(n.id, full: verbose), n.name, n.datacenter, n.nodePool, n.nodeClass.isEmpty ? "<none>" : n.nodeClass,
                    Formatting.yesNo(n.drain), n.eligibility, n.status, Formatting.list(n.drivers.sorted()))
            }
            Console.out(table.render())
            return
        }
        let response = try await context.node(id)
        let summary = response.node.summary
        let node = try? WireJSON.decode(Node.self, from: response.node.nodeJson)
        let allocations = try await context.reader.allocations(onNode: summary.id)
            .sorted { ($0.createTimeUnixNano, $0.id) > ($1.createTimeUnixNano, $1.id) }
        if context.json {
            Console.json(.object([
                "node": node.map { .node($0, summary: summary) } ?? .node(summary),
                "allocations": .array(allocations.map { .allocation($0) }),
            ]))
            return
        }
        var fields = Fields()
        fields.add("ID", summary.id)
        fields.add("Name", summary.name)
        fields.add("Address", summary.address.isEmpty ? "<none>" : summary.address)
        fields.add("Datacenter", summary.datacenter)
        fields.add("Node Pool", summary.nodePool)
        fields.add("Class", summary.nodeClass.isEmpty ? "<none>" : summary.nodeClass)
        fields.add("Status", summary.status)
        fields.add("Status Updated", Formatting.date(unixNanoseconds: summary.statusUpdatedUnixNano))
        fields.add("Drain", Formatting.yesNo(summary.drain))
        fields.add("Eligibility", summary.eligibility)
        fields.add("Drivers", Formatting.list(summary.drivers.sorted()))
        Console.out(fields.render())
        if let node {
            Console.out("")
            Console.out("Resources")
            var table = Table("CPU", "Cores", "Memory", "Disk", "Devices")
            let r = node.resources
            table.add("\(r.cpu) MHz", String(r.cores), "\(r.memoryMB) MiB", "\(r.diskMB) MiB", Formatting.list(r.devices.map { "\($0.id) ×\($0.instanceIDs.count)" }))
            Console.out(table.render())
            if !node.datasets.isEmpty {
                Console.out("")
                Console.out("Datasets")
                var datasets = Table("Name", "Size", "Version")
                for (name, d) in node.datasets.sorted(by: { $0.key < $1.key }) {
                    datasets.add(name, "\(d.sizeBytes) B", d.version ?? "<none>")
                }
                Console.out(datasets.render())
            }
        }
        Console.out("")
        Console.out("Allocations")
        Console.out(allocations.isEmpty ? "No allocations placed" : AllocationTable.render(allocations, verbose: verbose, showJob: true))
    }
}

/// `caravan node drain ID --enable|--disable`.
struct NodeDrainCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Drain a node (move its allocations away, place nothing new), or stop draining it.",
        discussion: "While draining, the node is ineligible. --disable cancels a drain and marks the node eligible again, unless --keep-ineligible."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The node's ID, or a unique prefix of it.", valueName: "id"))
    var id: String

    @Flag var toggle: DrainToggle

    @Option(help: ArgumentHelp("Stop allocations still running after this long, such as 30m or 1h.", valueName: "duration"))
    var deadline = "1h"

    @Flag(name: .customLong("no-deadline"), help: "Wait for allocations to move, however long it takes.")
    var noDeadline = false

    @Flag(help: "Stop the node's allocations at once.")
    var force = false

    @Flag(name: .customLong("ignore-system"), help: "Leave system jobs' allocations running.")
    var ignoreSystem = false

    @Flag(name: .customLong("keep-ineligible"), help: "With --disable: leave the node ineligible.")
    var keepIneligible = false

    func validate() throws {
        if noDeadline && force { throw ValidationError("--no-deadline and --force contradict each other: give one") }
        if Duration(nomad: deadline) == nil { throw ValidationError("--deadline \"\(deadline)\" is not a duration; write one such as 30m or 1h") }
        if toggle == .enable && keepIneligible { throw ValidationError("--keep-ineligible goes with --disable") }
    }

    func execute(_ context: CLIContext) async throws {
        let node = try await context.node(id).node.summary
        var request = Caravan_Api_V1_DrainNodeRequest()
        request.nodeID = node.id
        if toggle == .enable {
            var spec = Caravan_Api_V1_DrainSpec()
            spec.deadlineMs = force ? -1 : noDeadline ? 0 : (Duration(nomad: deadline) ?? .seconds(3600)).totalNanoseconds / 1_000_000
            spec.ignoreSystemJobs = ignoreSystem
            request.drain = spec
        } else {
            request.markEligible = !keepIneligible
        }
        let response = try await context.connection.nodes.drain(request)
        if context.json {
            Console.json(.object([
                "node_id": .string(node.id), "drain": .bool(toggle == .enable), "index": .int(response.meta.index),
                "evaluation_ids": .strings(response.evaluationIds),
            ]))
            return
        }
        Console.out(toggle == .enable
            ? "Node \"\(Formatting.short(node.id))\" (\(node.name)) drain strategy set"
            : "Node \"\(Formatting.short(node.id))\" (\(node.name)) drain cancelled\(keepIneligible ? "; it stays ineligible" : "")")
        for e in response.evaluationIds { Console.out("Evaluation ID: \(e)") }
    }
}

/// `caravan node eligibility ID --enable|--disable`.
struct NodeEligibilityCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "eligibility", abstract: "Mark a node eligible (or ineligible) for new allocations; running ones stay.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The node's ID, or a unique prefix of it.", valueName: "id"))
    var id: String

    @Flag var toggle: EligibilityToggle

    func execute(_ context: CLIContext) async throws {
        let node = try await context.node(id).node.summary
        var request = Caravan_Api_V1_SetNodeEligibilityRequest()
        request.nodeID = node.id
        request.eligible = toggle == .enable
        let response = try await context.connection.nodes.setEligibility(request)
        if context.json {
            Console.json(.object([
                "node_id": .string(node.id), "eligible": .bool(toggle == .enable), "index": .int(response.meta.index),
                "evaluation_ids": .strings(response.evaluationIds),
            ]))
            return
        }
        Console.out("Node \"\(Formatting.short(node.id))\" (\(node.name)) \(toggle == .enable ? "eligible" : "ineligible") for new allocations")
    }
}
