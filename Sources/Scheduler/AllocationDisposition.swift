import Model

/// What an allocation's state and its node's state mean for reconciliation.
enum AllocationDisposition: Equatable {
    /// Running (or starting) on a healthy node.
    case running
    /// Its node is gone, down, or disconnected too long: stop as lost, replace.
    case lost(reason: String)
    /// Its node is disconnected within `lost_after`: keep, maybe replace, until `expiry`.
    case unknown(since: Timestamp, expiry: Timestamp)
    /// Was unknown; its node is back.
    case reconnecting
    /// Its node drains: move it.
    case migrate
    case failed
    case complete
    /// Already terminal and handled (lost, or replaced).
    case done

    static func of(_ a: Allocation, group: GroupSpec?, state: ClusterState, now: Timestamp) -> AllocationDisposition {
        switch a.clientStatus {
        case .complete: return .complete
        case .failed: return a.nextAllocation == nil ? .failed : .done
        case .lost: return .done
        default: break
        }
        guard let node = state.node(a.nodeID) else { return .lost(reason: "node removed") }
        switch node.status {
        case .down:
            return .lost(reason: "node down")
        case .disconnected:
            guard let lostAfter = group?.disconnect?.lostAfter else {
                return .lost(reason: "node disconnected")
            }
            let since = a.disconnectedAt ?? node.statusUpdatedAt
            if now >= since + lostAfter {
                return .lost(reason: "node disconnected longer than lost_after (\(lostAfter.nomadText))")
            }
            return .unknown(since: since, expiry: since + lostAfter)
        case .ready, .initializing:
            if a.clientStatus == .unknown { return .reconnecting }
            if let drain = node.drain ? node.drainSpec ?? DrainSpec(deadline: .zero, startedAt: .epoch) : nil {
                switch a.jobType {
                case .batch, .sysbatch:
                    // Batch work may finish until the deadline.
                    if let deadline = drain.deadlineAt, now >= deadline { return .migrate }
                    return .running
                case .system:
                    return drain.ignoreSystemJobs ? .running : .migrate
                case .service:
                    return .migrate
                }
            }
            return .running
        }
    }
}

extension Allocation {
    /// When it finished on the client (for reschedule delays).
    var finishedAt: Timestamp {
        taskStates.values.compactMap(\.finishedAt).max() ?? modifiedAt
    }
}
