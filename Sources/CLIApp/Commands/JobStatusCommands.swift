import API
import ArgumentParser
import Foundation
import Model
import Transport

/// `caravan job list`: every job.
struct JobListCommand: ClusterCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List jobs.")

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Only jobs whose ID starts with this.", valueName: "prefix"))
    var prefix = ""

    func execute(_ context: CLIContext) async throws {
        try await Self.list(context, prefix: prefix)
    }

    static func list(_ context: CLIContext, prefix: String) async throws {
        let jobs = try await context.reader.jobs(namespace: context.namespace, prefix: prefix)
        if context.json {
            Console.json(.array(jobs.map { .job($0) }))
            return
        }
        guard !jobs.isEmpty else {
            Console.out("No jobs")
            return
        }
        let allNamespaces = context.namespace == "*"
        var table = allNamespaces ? Table("ID", "Namespace", "Type", "Priority", "Status", "Submit Date") : Table("ID", "Type", "Priority", "Status", "Submit Date")
        for job in jobs {
            let status = job.stop && job.status != "dead" ? "\(job.status) (stopped)" : job.status
            var row = [job.id, job.type, String(job.priority), status, Formatting.date(unixNanoseconds: job.submitTimeUnixNano)]
            if allNamespaces { row.insert(job.namespace, at: 1) }
            table.add(row)
        }
        Console.out(table.render())
    }
}

/// `caravan job status [ID]`: one job in detail, or the list.
struct JobStatusCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a job's status, groups, placement failures and allocations (no ID: list jobs)."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The job's ID; without it, list every job.", valueName: "id"))
    var id: String?

    @Flag(help: "Show full IDs.")
    var verbose = false

    func execute(_ context: CLIContext) async throws {
        guard let id else {
            try await JobListCommand.list(context, prefix: "")
            return
        }
        let key = JobKey(namespace: context.namespace, id: id)
        let reader = context.reader
        let (job, spec) = try await reader.job(key)
        let allocations = try await reader.allocations(ofJob: key).sorted { ($0.createTimeUnixNano, $0.id) > ($1.createTimeUnixNano, $1.id) }
        let blocked = try await reader.evaluations(ofJob: key, status: .blocked)
        if context.json {
            Console.json(.object([
                "job": .job(job.summary),
                "spec": .spec(spec),
                "placement_failures": .array(blocked.map { .evaluation($0) }),
                "allocations": .array(allocations.map { .allocation($0) }),
            ]))
            return
        }
        let s = job.summary
        var fields = Fields()
        fields.add("ID", s.id)
        fields.add("Name", s.name)
        fields.add("Namespace", s.namespace)
        fields.add("Type", s.type)
        fields.add("Priority", String(s.priority))
        fields.add("Datacenters", Formatting.list(s.datacenters))
        fields.add("Status", s.status + (s.stop && s.status != "dead" ? " (stopped)" : ""))
        fields.add("Stopped", Formatting.yesNo(s.stop))
        fields.add("Version", String(s.version))
        fields.add("Submit Date", Formatting.date(unixNanoseconds: s.submitTimeUnixNano))
        Console.out(fields.render())

        Console.out("")
        Console.out("Summary")
        var summary = Table("Task Group", "Desired", "Pending", "Running", "Failed", "Complete", "Lost", "Unknown")
        for group in spec.groups {
            let mine = allocations.filter { $0.group == group.name }
            func count(_ status: ClientStatus) -> String { String(mine.filter { $0.clientStatus == status.rawValue }.count) }
            let desired = spec.type == .system || spec.type == .sysbatch ? "-" : String(s.stop ? 0 : group.count)
            summary.add(group.name, desired, count(.pending), count(.running), count(.failed), count(.complete), count(.lost), count(.unknown))
        }
        Console.out(summary.render())

        if !blocked.isEmpty {
            Console.out("")
            Console.out("Placement Failure")
            for e in blocked {
                RolloutPrinter.placementFailureLines(e.statusDescription).forEach(Console.out)
            }
        }

        Console.out("")
        Console.out("Allocations")
        guard !allocations.isEmpty else {
            Console.out("No allocations placed")
            return
        }
        Console.out(AllocationTable.render(allocations, verbose: verbose, showJob: false))
    }
}

/// The allocation list `job status` and `node status` show.
enum AllocationTable {
    static func render(_ allocations: [Caravan_Api_V1_AllocationSummary], verbose: Bool, showJob: Bool) -> String {
        var table = showJob
            ? Table("ID", "Job ID", "Version", "Task Group", "Desired", "Status", "Created", "Modified")
            : Table("ID", "Node ID", "Task Group", "Version", "Desired", "Status", "Created", "Modified")
        for a in allocations {
            let created = Formatting.ago(unixNanoseconds: a.createTimeUnixNano)
            let modified = Formatting.ago(unixNanoseconds: a.modifyTimeUnixNano)
            if showJob {
                table.add(Formatting.short(a.id, full: verbose), a.jobID, String(a.jobVersion), a.group, a.desiredStatus, a.clientStatus, created, modified)
            } else {
                table.add(Formatting.short(a.id, full: verbose), Formatting.short(a.nodeID, full: verbose), a.group, String(a.jobVersion), a.desiredStatus, a.clientStatus, created, modified)
            }
        }
        return table.render()
    }
}

/// `caravan job history ID`: the versions kept.
struct JobHistoryCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "List the versions of a job the servers keep, newest first.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The job's ID.", valueName: "id"))
    var id: String

    @Flag(name: [.customShort("p"), .customLong("diff")], help: "Show what changed from the previous version.")
    var diff = false

    func execute(_ context: CLIContext) async throws {
        var request = Caravan_Api_V1_ListJobVersionsRequest()
        request.jobID = id
        request.namespace = context.namespace
        let response = try await context.connection.jobs.versions(request)
        let versions = response.versions.map { v in (v.summary, try? WireJSON.decode(JobSpec.self, from: v.specJson)) }
        if context.json {
            Console.json(.array(versions.map { summary, spec in
                .object([
                    "version": .int(summary.version), "stop": .bool(summary.stop),
                    "submit_time": .time(unixNanoseconds: summary.submitTimeUnixNano),
                    "spec": spec.map { .spec($0) },
                ])
            }))
            return
        }
        for (i, (summary, spec)) in versions.enumerated() {
            if i > 0 { Console.out("") }
            var fields = Fields()
            fields.add("Version", String(summary.version))
            fields.add("Stopped", Formatting.yesNo(summary.stop))
            fields.add("Submit Date", Formatting.date(unixNanoseconds: summary.submitTimeUnixNano))
            Console.out(fields.render())
            // Newest first: the previous version is the next one listed.
            if diff, let spec, i + 1 < versions.count, let older = versions[i + 1].1 {
                let d = JobSpecDiff(from: older, to: spec)
                Console.out(d.isEmpty ? "Diff = (none)" : "Diff =")
                for field in d.fields {
                    switch field.kind {
                    case .added: Console.out("  + \(field.path): \(field.new ?? "")")
                    case .removed: Console.out("  - \(field.path): \(field.old ?? "")")
                    case .changed: Console.out("  +/- \(field.path): \(field.old ?? "") => \(field.new ?? "")")
                    }
                }
            }
        }
    }
}

/// `caravan job stop ID`: stop (and with --purge remove) a job.
struct JobStopCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop a job's allocations; with --purge, also remove it.",
        discussion: "Waits until the scheduler has processed the stop (not until every allocation has stopped on its node), unless --detach."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The job's ID.", valueName: "id"))
    var id: String

    @Flag(help: "Remove the job from the servers' state as well (it no longer appears in `job list`).")
    var purge = false

    @Flag(help: "Return once the stop is registered, printing the evaluation ID.")
    var detach = false

    func execute(_ context: CLIContext) async throws {
        var request = Caravan_Api_V1_StopJobRequest()
        request.jobID = id
        request.namespace = context.namespace
        request.purge = purge
        let response = try await context.connection.jobs.stop(request)
        let key = JobKey(namespace: context.namespace, id: id)
        var outcome: JobRollout.Outcome?
        if !detach, !response.evaluationID.isEmpty {
            if !context.json { Console.out("==> Monitoring evaluation \"\(Formatting.short(response.evaluationID))\"") }
            let rollout = JobRollout(jobKey: key, evaluationID: EvaluationID(response.evaluationID), jobVersion: .max, goal: .evaluated)
            let json = context.json
            outcome = try await JobMonitor(connection: context.connection).outcome(of: rollout, afterIndex: response.meta.index &- 1) { change in
                if !json, case .evaluation = change { Console.out(RolloutPrinter.line(for: change)) }
            }.0
        }
        if context.json {
            var members: [JSONOutput.Member] = [
                .init(key: "job_id", value: .string(id)), .init(key: "namespace", value: .string(context.namespace)),
                .init(key: "purged", value: .bool(purge)), .init(key: "evaluation_id", value: .string(response.evaluationID)),
                .init(key: "index", value: .int(response.meta.index)),
            ]
            if let outcome { members += JobRunCommand.outcomeMembers(outcome) }
            Console.json(.object(members))
            return
        }
        if case .evaluationFailed(let e) = outcome {
            throw CLIError("the stop of job \"\(id)\" was not processed: evaluation \(e.id) \(e.status.rawValue) \(e.statusDescription)")
        }
        if detach {
            Console.out("Evaluation ID: \(response.evaluationID)")
        }
        Console.out(purge ? "==> Job \"\(id)\" stopped and purged" : "==> Job \"\(id)\" stopped")
    }
}
