import API
import ArgumentParser
import Foundation
import Model
import Transport

/// `caravan job plan FILE`: what registering the job would change, without registering it.
struct JobPlanCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Dry-run a job: show what changed in it and what the scheduler would do.",
        discussion: """
            Shows the difference between the file and the registered job, field by field, then the \
            scheduler's dry run per task group (allocations to create, destroy, update) and why any \
            allocations could not be placed. Nothing is registered. Pass the printed modify index to \
            `caravan job run --check-index` to register exactly what was planned.

            Exit codes (as Nomad's): 0 no allocations would be created or destroyed; 1 allocations \
            would be created or destroyed (or could not be placed); 255 an error (invalid job file, \
            connection).
            """
    )

    static var failureExitCode: Int32 { 255 }

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The job file (YAML or JSON); `-` for stdin.", valueName: "file"))
    var file: String

    @Flag(name: .customLong("no-diff"), help: "Do not show the field-by-field difference.")
    var noDiff = false

    func execute(_ context: CLIContext) async throws {
        let spec = try JobFile.read(file, global: global)
        var request = Caravan_Api_V1_PlanJobRequest()
        request.specJson = WireJSON.encode(spec)
        request.diff = true
        let plan = try await context.connection.jobs.plan(request)
        let changes = (try? WireJSON.decode([String: DesiredChanges].self, from: plan.annotationsJson)) ?? [:]
        let current: JobSpec?
        var stopped = false
        do {
            let registered = try await context.reader.job(spec.key)
            current = registered.spec
            stopped = registered.job.summary.stop
        } catch let error where CallFailure(error)?.kind == .notFound {
            current = nil
        }
        let diff = JobSpecDiff(from: current, to: spec)
        let createsOrDestroys = changes.values.contains { c in
            c.place + c.stop + c.destructiveUpdate + c.migrate + c.canary + c.preempt + c.lost + c.reschedule > 0
        } || !plan.failedPlacements.isEmpty

        if context.json {
            Console.json(.object([
                "job_id": .string(spec.id), "namespace": .string(spec.namespace),
                "job_modify_index": .int(plan.jobModifyIndex),
                "new_job": .bool(current == nil),
                "restarts_stopped_job": .bool(stopped),
                "diff": .array(diff.fields.map { f in
                    .object(["path": .string(f.path), "type": .string("\(f.kind)"), "old": f.old.map(JSONOutput.string), "new": f.new.map(JSONOutput.string)])
                }),
                "desired_changes": .map(changes) { Self.json($0) },
                "failed_placements": .map(plan.failedPlacements) { .string($0) },
                "warnings": .strings(plan.warnings),
                "changes_allocations": .bool(createsOrDestroys),
            ]))
        } else {
            print(spec: spec, current: current, stopped: stopped, diff: diff, changes: changes, plan: plan)
        }
        if createsOrDestroys { throw ExitCode(1) }
    }

    private func print(
        spec: JobSpec, current: JobSpec?, stopped: Bool, diff: JobSpecDiff, changes: [String: DesiredChanges],
        plan: Caravan_Api_V1_PlanJobResponse
    ) {
        let marker = current == nil ? "+" : diff.isEmpty && !stopped ? " " : "+/-"
        Console.out("\(marker) Job: \"\(spec.id)\"\(stopped ? " (stopped: registering starts it again)" : "")")
        if current != nil && !noDiff {
            for field in diff.fields {
                switch field.kind {
                case .added: Console.out("  + \(field.path): \(field.new ?? "")")
                case .removed: Console.out("  - \(field.path): \(field.old ?? "")")
                case .changed: Console.out("  +/- \(field.path): \(field.old ?? "") => \(field.new ?? "")")
                }
            }
        }
        for group in spec.groups {
            var summary = changes[group.name].map(Self.describe) ?? ""
            if let failed = plan.failedPlacements[group.name] {
                let count = RolloutPrinter.placementFailureCount(failed) ?? "allocations not placed"
                summary += (summary.isEmpty ? "" : ", ") + count
            }
            Console.out("Task Group: \"\(group.name)\"\(summary.isEmpty ? "" : " (\(summary))")")
        }
        Console.out("")
        Console.out("Scheduler dry-run:")
        if plan.failedPlacements.isEmpty {
            Console.out("- All tasks successfully allocated.")
        } else {
            Console.out("- WARNING: Failed to place all allocations.")
            for (_, description) in plan.failedPlacements.sorted(by: { $0.key < $1.key }) {
                for line in RolloutPrinter.placementFailureLines(description) { Console.out("  " + line) }
            }
        }
        for warning in plan.warnings { Console.out("- Warning: \(warning)") }
        Console.out("")
        Console.out("Job Modify Index: \(plan.jobModifyIndex)")
        Console.out("To submit the job with version verification run:")
        Console.out("")
        Console.out("caravan job run --check-index \(plan.jobModifyIndex) \(file)")
        Console.out("")
        Console.out("When running the job with --check-index, the job is registered only if its modify index")
        Console.out("still matches. If it changed, another user modified the job and this plan may be stale.")
    }

    /// "3 create, 1 destroy, 2 in-place update".
    static func describe(_ c: DesiredChanges) -> String {
        let parts: [(Int, String)] = [
            (c.place, "create"), (c.stop, "destroy"), (c.inPlaceUpdate, "in-place update"),
            (c.destructiveUpdate, "create/destroy update"), (c.migrate, "migrate"), (c.canary, "canary"),
            (c.preempt, "preempt"), (c.lost, "lost"), (c.reschedule, "reschedule"), (c.disconnect, "disconnect"),
            (c.reconnect, "reconnect"), (c.ignore, "ignore"),
        ]
        return parts.filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
    }

    static func json(_ c: DesiredChanges) -> JSONOutput {
        .object([
            "place": .int(c.place), "stop": .int(c.stop), "in_place_update": .int(c.inPlaceUpdate),
            "destructive_update": .int(c.destructiveUpdate), "migrate": .int(c.migrate), "canary": .int(c.canary),
            "ignore": .int(c.ignore), "preempt": .int(c.preempt), "lost": .int(c.lost),
            "disconnect": .int(c.disconnect), "reconnect": .int(c.reconnect), "reschedule": .int(c.reschedule),
        ])
    }
}
