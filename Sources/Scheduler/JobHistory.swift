import Model

/// What a committed plan does to its job's versions, for the servers to
/// apply together with the plan: a deployment that succeeded marks its
/// version stable, and a failed deployment's revert
/// (``Plan/revertToJobVersion``) registers that version's specification
/// again as a new version, as Nomad rolls back. The plan also carries the
/// evaluation that then rolls the allocations back.
///
/// Pure functions of the plan and the versions, so every server applies
/// them alike.
public enum JobHistory {
    /// Marks the version whose deployment `plan` reports successful as
    /// stable in `versions`; returns whether a version changed.
    @discardableResult
    public static func markStable(by plan: Plan, in versions: inout [Job]) -> Bool {
        guard let d = plan.deployment, d.status == .successful, d.jobKey == plan.jobKey,
              let k = versions.lastIndex(where: { $0.version == d.jobVersion }), !versions[k].stable
        else { return false }
        versions[k].stable = true
        return true
    }

    /// The version to register for the revert `plan` asks, or nil when it
    /// asks none or must not be applied.
    ///
    /// - Parameters:
    ///   - versions: the job's versions, oldest first; the last is current.
    ///   - now: when the plan commits (the new version's submission time).
    /// - Returns: a new current version (one above the current) with the
    ///   specification of version ``Plan/revertToJobVersion``; nil when the
    ///   job changed since the plan was made (a newer registration or a stop
    ///   wins over the revert), when that version is no longer kept, or when
    ///   its specification is the current one (a revert to the version
    ///   running would only loop when that version fails too).
    public static func revert(by plan: Plan, versions: [Job], at now: Timestamp) -> Job? {
        guard let target = plan.revertToJobVersion, let current = versions.last, !current.stopped,
              current.version == plan.jobVersion,
              let stable = versions.last(where: { $0.version == target }), stable.spec != current.spec
        else { return nil }
        return Job(spec: stable.spec, version: current.version + 1, submittedAt: now)
    }
}
