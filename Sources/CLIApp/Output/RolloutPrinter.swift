import API
import Model

/// Nomad-style progress lines for a job's rollout, and its outcome.
enum RolloutPrinter {
    static func line(for change: JobRollout.Change) -> String {
        switch change {
        case .evaluation(let e, let previous):
            let id = Formatting.short(e.id.rawValue)
            guard let previous else {
                let why = e.previousEvaluation == nil ? "triggered by \(e.trigger.rawValue)" : "created (\(e.trigger.rawValue))"
                return "    Evaluation \"\(id)\" \(why), status \"\(e.status.rawValue)\""
            }
            return "    Evaluation \"\(id)\" status changed: \"\(previous.rawValue)\" -> \"\(e.status.rawValue)\""
        case .allocationPlaced(let a):
            return "    Allocation \"\(Formatting.short(a.id.rawValue))\" placed: node \"\(a.nodeName)\", group \"\(a.group)\", status \"\(a.clientStatus.rawValue)\""
        case .allocationStatus(let a, let previous):
            var text = "    Allocation \"\(Formatting.short(a.id.rawValue))\" status changed: \"\(previous.rawValue)\" -> \"\(a.clientStatus.rawValue)\""
            if !a.clientDescription.isEmpty { text += " (\(a.clientDescription))" }
            return text
        }
    }

    /// The lines that close the monitoring, and the `job run` exit code.
    static func summary(of outcome: JobRollout.Outcome, evaluationID: String) -> (lines: [String], exitCode: Int32) {
        let id = Formatting.short(evaluationID)
        switch outcome {
        case .succeeded(let allocations):
            let counts = Dictionary(grouping: allocations, by: \.clientStatus).map { "\($0.value.count) \($0.key.rawValue)" }.sorted()
            let detail = allocations.isEmpty ? "no allocations changed" : "allocations: " + counts.joined(separator: ", ")
            return (["==> Evaluation \"\(id)\" finished with status \"complete\"; \(detail)"], 0)
        case .allocationsFailed(let failed, _):
            var lines = ["==> Evaluation \"\(id)\" finished, but \(failed.count) allocation\(failed.count == 1 ? "" : "s") failed:"]
            for a in failed {
                let why = a.clientDescription.isEmpty ? a.clientStatus.rawValue : a.clientDescription
                lines.append("    Allocation \"\(Formatting.short(a.id.rawValue))\" (\(a.name)) \(a.clientStatus.rawValue): \(why)")
            }
            lines.append("    See `caravan alloc status <id>` and `caravan alloc logs <id>`.")
            return (lines, 1)
        case .placementFailed(let blocked, let placed):
            var lines = ["==> Evaluation \"\(id)\" finished with status \"complete\" but failed to place all allocations:"]
            lines += placementFailureLines(blocked.statusDescription).map { "    " + $0 }
            if !placed.isEmpty { lines.append("    \(placed.count) allocation\(placed.count == 1 ? " was" : "s were") placed.") }
            lines.append("    Evaluation \"\(Formatting.short(blocked.id.rawValue))\" waiting for additional capacity to place the remainder")
            return (lines, 2)
        case .evaluationFailed(let e):
            let why = e.statusDescription.isEmpty ? "" : ": \(e.statusDescription)"
            return (["==> Evaluation \"\(id)\" finished with status \"\(e.status.rawValue)\"\(why)"], 1)
        }
    }

    /// "2 allocations not placed" from one group's failure description.
    static func placementFailureCount(_ description: String) -> String? {
        let parts = description.components(separatedBy: ": ")
        return parts.count >= 3 ? parts[1] : nil
    }

    /// A blocked evaluation's description ("group \"g\": 3 allocations not
    /// placed: reasons; …") as one block per group, one reason per line.
    static func placementFailureLines(_ description: String) -> [String] {
        var lines: [String] = []
        for part in description.components(separatedBy: "; group ") {
            let text = part.hasPrefix("group ") ? String(part.dropFirst(6)) : part
            // `"g": N allocations not placed: reason; reason`
            guard let colon = text.range(of: ": ") else {
                lines.append("* " + text)
                continue
            }
            let group = text[..<colon.lowerBound]
            let rest = text[colon.upperBound...]
            if let second = rest.range(of: ": ") {
                lines.append("Task Group \(group) (\(rest[..<second.lowerBound])):")
                for reason in rest[second.upperBound...].components(separatedBy: "; ") {
                    lines.append("  * " + reason)
                }
            } else {
                lines.append("Task Group \(group): \(rest)")
            }
        }
        return lines
    }
}
