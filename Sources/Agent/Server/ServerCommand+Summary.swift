import Model
import RaftCore

/// One-line descriptions of what log entries do, for the operator's view of
/// the Raft log (`caravan operator raft log`).
extension ServerCommand {
    /// What `entry` does in one line. An entry that cannot be decoded says so
    /// and why ("undecodable: …"); this never throws or traps.
    static func summary(of entry: Entry) -> String {
        switch entry.kind {
        case .confChange:
            do {
                return try ConfChange(decoding: entry.data).summary
            } catch {
                return "undecodable: \(error)"
            }
        case .normal:
            if entry.data.isEmpty { return "no-op (a new leader's first entry)" }
            return summary(ofCommand: entry.data)
        case .tagged:
            guard let (tag, command) = WriteTag.split(entry.data) else { return "undecodable: \(entry.data.count) bytes are too few for a forwarded write's tag" }
            return summary(ofCommand: command) + " (forwarded by server \(tag.origin))"
        }
    }

    private static func summary(ofCommand bytes: [UInt8]) -> String {
        do {
            return try ServerStateMachine.decode(bytes).summary
        } catch {
            return "undecodable: \(Self.oneLine(error))"
        }
    }

    /// What the command does in one line, naming what it touches.
    var summary: String {
        switch self {
        case .registerJob(let r):
            return "register job \(r.spec.key) (eval \(Self.short(r.evaluationID.rawValue)))"
        case .stopJob(let s):
            return "\(s.purge ? "stop and purge" : "stop") job \(s.key) (eval \(Self.short(s.evaluationID.rawValue)))"
        case .applyPlan(let p):
            let plan = p.plan
            let counts = [
                (plan.placements.count, "placed"), (plan.updates.count, "updated"), (plan.stops.count, "stopped"),
                (plan.preemptions.count, "preempted"), (plan.failedPlacements.count, "not placed"),
            ].filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }
            return "apply plan for eval \(Self.short(plan.evaluationID.rawValue)) (job \(plan.jobKey)): "
                + (counts.isEmpty ? "no changes" : counts.joined(separator: ", "))
                + ", eval \(p.evaluation.status.rawValue)"
        case .upsertEvaluations(let evaluations, _):
            guard evaluations.count == 1, let only = evaluations.first else {
                let jobs = Set(evaluations.map(\.jobKey.description)).sorted()
                return "upsert \(evaluations.count) evaluations for \(Self.list(jobs))"
            }
            return "upsert eval \(Self.short(only.id.rawValue)) for job \(only.jobKey): \(only.status.rawValue)"
        case .updateNode(let u):
            var facts = [u.node.status.rawValue]
            if u.node.drain { facts.append("draining") }
            if u.node.eligibility == .ineligible { facts.append("ineligible") }
            let evaluations = u.evaluations.isEmpty ? "" : " (\(u.evaluations.count) evaluations)"
            return "update node \(u.node.name.isEmpty ? Self.short(u.node.id.rawValue) : u.node.name): "
                + facts.joined(separator: ", ") + evaluations
        case .updateAllocations(let u):
            let evaluations = u.evaluations.isEmpty ? "" : " (\(u.evaluations.count) evaluations)"
            return "allocation updates from node \(Self.short(u.nodeID.rawValue)): \(u.updates.count)\(evaluations)"
        case .describeMembers(let members):
            return "describe members: " + Self.list(members.sorted { $0.id < $1.id }.map { "\($0.id) (\($0.name) \($0.address))" })
        }
    }

    /// An identifier's first 8 characters, enough to recognise it.
    private static func short(_ id: String) -> String {
        id.count > 8 ? String(id.prefix(8)) + "…" : id
    }

    /// Up to 5 items, then how many more.
    private static func list(_ items: [String]) -> String {
        let shown = items.prefix(5).joined(separator: ", ")
        return items.count > 5 ? shown + " and \(items.count - 5) more" : shown
    }

    /// A decoding error's text on one line.
    private static func oneLine(_ error: any Error) -> String {
        "\(error)".split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}

extension ConfChange {
    /// "add voter 4 (s4 127.0.0.1:7650)"; a change without a description (a
    /// drain or an undrain of a member) reads "make 4 a learner".
    var summary: String {
        let member = ServerStateMachine.member(fromContext: context)
        let who = member.map { " (\($0.name) \($0.address))" } ?? ""
        switch type {
        case .addVoter: return member == nil ? "make \(nodeID) a voter" : "add voter \(nodeID)\(who)"
        case .addLearner: return member == nil ? "make \(nodeID) a learner" : "add learner \(nodeID)\(who)"
        case .removeNode: return "remove \(nodeID)"
        }
    }
}
