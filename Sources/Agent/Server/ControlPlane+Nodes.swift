import Foundation
import Model
import Scheduler

/// The node lifecycle: registration, heartbeats, status reports, drain and
/// eligibility. Each but the status reports is a write the leader proposes,
/// carrying the evaluations the change calls for, chosen here from the state
/// it met.
extension ControlPlane {
    /// Registers `node` (or registers it again, after a restart or a lost
    /// heartbeat), ready. An operator's drain and eligibility survive.
    public func registerNode(_ node: Node) async throws(ControlPlaneError) -> UInt64 {
        let state = try await read(stale: false)
        var registered = node
        registered.status = .ready
        registered.statusUpdatedAt = .now
        let existing = state.cluster.node(node.id)
        if let existing {
            registered.drain = existing.drain
            registered.eligibility = existing.eligibility
            registered.drainSpec = existing.drainSpec
        }
        var jobs = Set<JobKey>()
        if existing?.status != .ready {
            // System and sysbatch jobs reach every node, a new one too; the
            // node's own jobs reconcile when it comes back.
            for record in state.jobs.values where !record.current.stopped
                && (record.current.spec.type == .system || record.current.spec.type == .sysbatch) {
                jobs.insert(record.current.key)
            }
            jobs.formUnion(Self.jobsWithLiveAllocations(on: node.id, in: state))
        }
        let trigger: EvaluationTrigger = existing?.status == .disconnected ? .reconnect : .nodeUpdate
        return try await proposeNode(registered, evaluations: Self.evaluations(for: jobs, trigger: trigger, node: node.id, in: state))
    }

    /// What a heartbeat does to the state: nothing while the node is ready;
    /// a node the servers marked down or disconnected is ready again.
    /// - Returns: false when the node is unknown (it must register).
    public func nodeHeartbeat(_ id: NodeID) async throws(ControlPlaneError) -> Bool {
        var node: Node
        let evaluations: [Evaluation]
        do {
            let state = stateMachine.snapshotOfState
            guard let known = state.cluster.node(id) else { return false }
            if known.status == .ready { return true }
            node = known
            let trigger: EvaluationTrigger = node.status == .disconnected ? .reconnect : .nodeUpdate
            evaluations = Self.evaluations(for: Self.jobsWithLiveAllocations(on: id, in: state), trigger: trigger, node: id, in: state)
        }
        node.status = .ready
        node.statusUpdatedAt = .now
        _ = try await proposeNode(node, evaluations: evaluations)
        return true
    }

    /// Marks a node that missed its heartbeat: disconnected when one of its
    /// allocations' groups allows disconnection, down otherwise.
    func nodeMissedHeartbeat(_ id: NodeID) async throws(ControlPlaneError) {
        var node: Node
        let evaluations: [Evaluation]
        do {
            let state = stateMachine.snapshotOfState
            guard let known = state.cluster.node(id), known.status == .ready || known.status == .initializing else { return }
            node = known
            let live = state.cluster.allocations(onNode: id).filter { !$0.isTerminal }
            let tolerant = live.contains { a in
                state.jobs[a.jobKey]?.versions.first { $0.version == a.jobVersion }?.spec.groups
                    .first { $0.name == a.group }?.disconnect?.lostAfter != nil
            }
            node.status = tolerant ? .disconnected : .down
            evaluations = Self.evaluations(for: Set(live.map(\.jobKey)), trigger: .nodeUpdate, node: id, in: state)
        }
        node.statusUpdatedAt = .now
        _ = try await proposeNode(node, evaluations: evaluations)
    }

    /// Applies a node's status reports, in order, through whichever server
    /// leads (built from the request alone, so a follower forwards it over
    /// Raft). Failed allocations and allocations that came back from
    /// "unknown" get an evaluation of their job, decided as the entry applies.
    public func updateAllocations(node: NodeID, _ updates: [ClientAllocationUpdate]) async throws(ControlPlaneError) -> UInt64 {
        let ids = (0..<ServerCommand.AllocationUpdates.evaluationIDsNeeded(by: updates)).map { _ in
            EvaluationID(UUID().uuidString.lowercased())
        }
        let command = ServerCommand.updateAllocations(.init(nodeID: node, updates: updates, evaluationIDs: ids, at: .now))
        switch try await submit(command) {
        case .applied(let index): return index
        case let other: throw .unavailable("unexpected outcome of an allocation update: \(other)")
        }
    }

    /// Starts (`spec` set) or cancels a drain. Draining makes the node
    /// ineligible; cancelling makes it eligible again when `markEligible`.
    public func drainNode(_ id: NodeID, spec: DrainSpec?, markEligible: Bool) async throws(ControlPlaneError) -> (index: UInt64, evaluations: [EvaluationID]) {
        let state = try await read(stale: false)
        guard var node = Self.node(id, in: state) else { throw .notFound("node \"\(id)\" is not registered") }
        if let spec {
            node.drain = true
            node.drainSpec = spec
            node.eligibility = .ineligible
        } else {
            node.drain = false
            node.drainSpec = nil
            if markEligible { node.eligibility = .eligible }
        }
        let jobs = spec == nil ? [] : Self.jobsWithLiveAllocations(on: node.id, in: state)
        var evaluations = Self.evaluations(for: jobs, trigger: .nodeDrain, node: node.id, in: state)
        if let deadline = spec?.deadlineAt, spec?.deadline != .zero {
            // Batch work left at the deadline moves then.
            let batch = jobs.filter { [.batch, .sysbatch].contains(state.jobs[$0]?.current.spec.type) }
            for var evaluation in Self.evaluations(for: batch, trigger: .nodeDrain, node: node.id, in: state) {
                evaluation.waitUntil = deadline
                evaluations.append(evaluation)
            }
        }
        return (try await proposeNode(node, evaluations: evaluations), evaluations.map(\.id))
    }

    /// Whether new allocations may be placed on the node.
    public func setNodeEligibility(_ id: NodeID, eligible: Bool) async throws(ControlPlaneError) -> UInt64 {
        let state = try await read(stale: false)
        guard var node = Self.node(id, in: state) else { throw .notFound("node \"\(id)\" is not registered") }
        guard !(eligible && node.drain) else {
            throw .invalidArgument("node \(node.name) is draining: cancel the drain to make it eligible")
        }
        node.eligibility = eligible ? .eligible : .ineligible
        return try await proposeNode(node, evaluations: [])
    }

    /// A node by full ID or unique prefix.
    static func node(_ id: NodeID, in state: ServerState) -> Node? {
        if let exact = state.cluster.node(id) { return exact }
        let matches = state.cluster.nodes.filter { $0.id.rawValue.hasPrefix(id.rawValue) || $0.name == id.rawValue }
        return matches.count == 1 ? matches[0] : nil
    }

    private func proposeNode(_ node: Node, evaluations: [Evaluation]) async throws(ControlPlaneError) -> UInt64 {
        switch try await propose(.updateNode(.init(node: node, evaluations: evaluations, at: .now))) {
        case .applied(let index): return index
        case let other: throw .unavailable("unexpected outcome of a node update: \(other)")
        }
    }

    private static func jobsWithLiveAllocations(on node: NodeID, in state: ServerState) -> Set<JobKey> {
        Set(state.cluster.allocations(onNode: node).filter { !$0.isTerminal }.map(\.jobKey))
    }

    private static func evaluations(for jobs: Set<JobKey>, trigger: EvaluationTrigger, node: NodeID, in state: ServerState) -> [Evaluation] {
        jobs.sorted().compactMap { key in
            guard let job = state.jobs[key]?.current else { return nil }
            return Evaluation(
                id: EvaluationID(UUID().uuidString.lowercased()), namespace: key.namespace, jobID: key.id,
                jobType: job.spec.type, priority: job.spec.priority, trigger: trigger, nodeID: node, createdAt: .now)
        }
    }
}
