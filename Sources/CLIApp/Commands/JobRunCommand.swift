import API
import ArgumentParser
import Foundation
import Model
import Transport

/// `caravan job run FILE`: register a job and follow its rollout.
struct JobRunCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Submit a job and watch its allocations start.",
        discussion: """
            Reads the job file (YAML or JSON; `-` reads stdin), validates it, registers it, then \
            follows the evaluation and the allocations it places until every allocation of the new \
            version is running or has finished. Interrupting the watch leaves the job running.

            Exit codes: 0 the job was placed and its allocations run (or completed); 2 some \
            allocations could not be placed (the reasons are printed; the job waits for capacity); \
            1 any other error (invalid job file, connection, failed allocations).
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The job file (YAML or JSON); `-` for stdin.", valueName: "file"))
    var file: String

    @Flag(help: "Return once the job is registered, printing the evaluation ID.")
    var detach = false

    @Option(name: .customLong("check-index"), help: ArgumentHelp("Register only if the job's modify index is still this (from `job plan`); 0 for a new job.", valueName: "index"))
    var checkIndex: UInt64?

    @Flag(help: "Show full IDs.")
    var verbose = false

    func execute(_ context: CLIContext) async throws {
        let spec = try JobFile.read(file, global: global)
        var request = Caravan_Api_V1_RegisterJobRequest()
        request.specJson = WireJSON.encode(spec)
        request.idempotencyKey = UUID().uuidString.lowercased()
        if let checkIndex {
            request.enforceIndex = checkIndex
            request.enforceIndexSet = true
        }
        let registered = try await context.connection.jobs.register(request)
        if detach || registered.evaluationID.isEmpty {
            if context.json {
                Console.json(Self.json(registered, spec: spec, outcome: nil))
            } else {
                Console.out("Job registration successful")
                for warning in registered.warnings { Console.out("Warning: \(warning)") }
                Console.out("Job \"\(spec.id)\" version \(registered.jobVersion)")
                Console.out(registered.evaluationID.isEmpty ? "No evaluation was needed" : "Evaluation ID: \(registered.evaluationID)")
            }
            return
        }
        let rollout = JobRollout(
            jobKey: spec.key, evaluationID: EvaluationID(registered.evaluationID),
            jobVersion: Int(registered.jobVersion), goal: .running)
        if !context.json {
            for warning in registered.warnings { Console.out("Warning: \(warning)") }
            Console.out("==> Monitoring evaluation \"\(Formatting.short(registered.evaluationID, full: verbose))\" of job \"\(spec.id)\" version \(registered.jobVersion)")
        }
        let json = context.json
        let (outcome, _) = try await JobMonitor(connection: context.connection).outcome(
            of: rollout, afterIndex: registered.meta.index &- 1
        ) { change in
            if !json { Console.out(RolloutPrinter.line(for: change)) }
        }
        let (lines, code) = RolloutPrinter.summary(of: outcome, evaluationID: registered.evaluationID)
        if context.json {
            Console.json(Self.json(registered, spec: spec, outcome: outcome))
        } else {
            lines.forEach(Console.out)
        }
        if code != 0 { throw ExitCode(code) }
    }

    static func json(_ r: Caravan_Api_V1_RegisterJobResponse, spec: JobSpec, outcome: JobRollout.Outcome?) -> JSONOutput {
        var members: [JSONOutput.Member] = [
            .init(key: "job_id", value: .string(r.jobID.isEmpty ? spec.id : r.jobID)),
            .init(key: "namespace", value: .string(spec.namespace)),
            .init(key: "job_version", value: .int(r.jobVersion)),
            .init(key: "evaluation_id", value: .string(r.evaluationID)),
            .init(key: "index", value: .int(r.meta.index)),
            .init(key: "warnings", value: .strings(r.warnings)),
        ]
        if let outcome {
            members += outcomeMembers(outcome)
        }
        return .object(members)
    }

    static func outcomeMembers(_ outcome: JobRollout.Outcome) -> [JSONOutput.Member] {
        switch outcome {
        case .succeeded(let allocations):
            return [.init(key: "outcome", value: .string("succeeded")),
                    .init(key: "allocations", value: .array(allocations.map { .allocation($0) }))]
        case .allocationsFailed(let failed, let allocations):
            return [.init(key: "outcome", value: .string("allocations_failed")),
                    .init(key: "failed_allocations", value: .strings(failed.map(\.id.rawValue))),
                    .init(key: "allocations", value: .array(allocations.map { .allocation($0) }))]
        case .placementFailed(let blocked, let placed):
            return [.init(key: "outcome", value: .string("placement_failed")),
                    .init(key: "placement_failures", value: .string(blocked.statusDescription)),
                    .init(key: "blocked_evaluation", value: .evaluation(blocked)),
                    .init(key: "allocations", value: .array(placed.map { .allocation($0) }))]
        case .evaluationFailed(let e):
            return [.init(key: "outcome", value: .string("evaluation_failed")),
                    .init(key: "evaluation", value: .evaluation(e))]
        }
    }
}
