import API
import ArgumentParser
import Foundation
import Model

/// `caravan job`: submit, plan, inspect and stop jobs.
struct JobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job",
        abstract: "Submit, plan, inspect and stop jobs.",
        subcommands: [
            JobRunCommand.self, JobPlanCommand.self, JobStatusCommand.self, JobListCommand.self,
            JobStopCommand.self, JobHistoryCommand.self, JobLogsCommand.self,
        ]
    )
}

/// Reads a job file (YAML or JSON) and validates it locally, so that every
/// problem is reported with its field path before anything is sent.
enum JobFile {
    /// The job in `path`, in the namespace `--namespace` (or
    /// CARAVAN_NAMESPACE) names when the file names none.
    static func read(_ path: String, global: GlobalOptions) throws -> JobSpec {
        var spec = try read(path)
        let wanted = global.resolvedNamespace
        if spec.namespace == "default" {
            spec.namespace = wanted
        } else if let explicit = global.namespace, explicit != spec.namespace {
            throw CLIError("\(path) names the namespace \"\(spec.namespace)\", but --namespace is \"\(explicit)\"")
        }
        return spec
    }

    static func read(_ path: String) throws -> JobSpec {
        let text: String
        if path == "-" {
            do {
                text = String(decoding: try FileHandle.standardInput.readToEnd() ?? Data(), as: UTF8.self)
            } catch {
                throw CLIError("cannot read the job from stdin: \(error.localizedDescription)")
            }
        } else {
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                let reason = FileManager.default.fileExists(atPath: path) ? "it is not readable UTF-8 text" : "no such file"
                throw CLIError("cannot read the job file \(path): \(reason)")
            }
        }
        do {
            return try JobSpec.parse(yaml: text)
        } catch {
            let noun = error.problems.count == 1 ? "problem" : "problems"
            throw CLIError("\(path) is not a valid job specification (\(error.problems.count) \(noun)):\n"
                + error.problems.map { "  - \($0)" }.joined(separator: "\n"))
        }
    }
}
