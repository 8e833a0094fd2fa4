import API
import Foundation
import GRPCCore
import Model
import Transport

/// The `NodeService` that client nodes call: registration and heartbeats
/// (which the leader judges), allocation watches (served from this server's
/// state), and status reports (written through the leader).
struct NodeServiceHandler: Caravan_Node_V1_NodeService.SimpleServiceProtocol {
    let plane: ControlPlane
    let router: LeaderRouter
    let monitor: HeartbeatMonitor
    let watches: AllocationWatchHub
    let logs: LogRelayHub
    let authorizer: PeerAuthorizer
    /// The servers' addresses, for nodes to fail over between.
    let servers: @Sendable () -> [String]

    func register(request: Caravan_Node_V1_RegisterRequest, context: ServerContext) async throws -> Caravan_Node_V1_RegisterResponse {
        _ = try authorizer.authorize(context)
        let node: Node
        do {
            node = try request.node()
        } catch {
            throw RPCError(code: .invalidArgument, message: error.description)
        }
        return try await router.write({ () throws(ControlPlaneError) in
            let index = try await plane.registerNode(node)
            let ttl = await monitor.heartbeat(node.id)
            var response = Caravan_Node_V1_RegisterResponse()
            response.index = index
            response.heartbeatTtlMs = UInt64(ttl.milliseconds)
            response.servers = servers()
            response.allocationsIndex = index
            return response
        }, forward: { try await $0.node.register(request) })
    }

    func heartbeat(request: Caravan_Node_V1_HeartbeatRequest, context: ServerContext) async throws -> Caravan_Node_V1_HeartbeatResponse {
        _ = try authorizer.authorize(context)
        let id = NodeID(request.nodeID)
        return try await router.write({ () throws(ControlPlaneError) in
            _ = try await plane.leaderStatus()
            var response = Caravan_Node_V1_HeartbeatResponse()
            guard try await plane.nodeHeartbeat(id) else {
                response.reregister = true
                return response
            }
            response.heartbeatTtlMs = UInt64(await monitor.heartbeat(id).milliseconds)
            response.index = plane.stateMachine.snapshotOfState.appliedIndex
            response.servers = servers()
            return response
        }, forward: { try await $0.node.heartbeat(request) })
    }

    func watchAllocations(
        request: Caravan_Node_V1_WatchAllocationsRequest, response: RPCWriter<Caravan_Node_V1_AllocationUpdate>,
        context: ServerContext
    ) async throws {
        _ = try authorizer.authorize(context)
        let node = NodeID(request.nodeID)
        let watch = watches.watch(node)
        defer { watch.cancel() }
        // What the node was last sent, by allocation: a change to any of it
        // is sent again. The node is told of allocations its client has not
        // finished; one that leaves that set (finished, or marked lost by the
        // servers) is listed as removed: stop it if it still runs.
        var sent: [AllocationID: Assignment] = [:]
        var first = true
        for await _ in watch.wakeups {
            let update = Self.changes(for: node, in: watch.take(), sent: &sent, full: first, packed: request.packed, from: plane.stateMachine)
            if first || !update.allocations.isEmpty || !update.removedAllocationIds.isEmpty {
                try await response.write(update)
            }
            first = false
        }
    }

    /// What changed for `node` among `changed` since it was sent `sent`
    /// (everything when `full`); `sent` becomes what it is told now.
    /// Synchronous, so that the state snapshot is gone before the update is
    /// written: an apply that finds the state shared copies every map it
    /// changes, and a slow stream would hold the snapshot across many applies.
    private static func changes(
        for node: NodeID, in changed: AllocationWatchHub.Changed, sent: inout [AllocationID: Assignment], full: Bool,
        packed: Bool, from stateMachine: ServerStateMachine
    ) -> Caravan_Node_V1_AllocationUpdate {
        let state = stateMachine.snapshotOfState
        var update = Caravan_Node_V1_AllocationUpdate()
        update.index = state.appliedIndex
        update.full = full
        var removed: [AllocationID] = []
        switch changed {
        case .everything:
            var current: [AllocationID: Assignment] = [:]
            for a in state.cluster.unfinishedAllocations(onNode: node) {
                let assignment = Assignment(a)
                current[a.id] = assignment
                if full || sent[a.id] != assignment { update.allocations.append(Self.assignment(a, state: state, packed: packed)) }
            }
            removed = sent.keys.filter { current[$0] == nil }
            sent = current
        case .allocations(let ids):
            for id in ids.sorted() {
                if let a = state.cluster.allocations[id], a.nodeID == node, !a.clientStatus.isTerminal {
                    let assignment = Assignment(a)
                    if sent.updateValue(assignment, forKey: id) != assignment {
                        update.allocations.append(Self.assignment(a, state: state, packed: packed))
                    }
                } else if sent.removeValue(forKey: id) != nil {
                    removed.append(id)
                }
            }
        }
        update.removedAllocationIds = removed.map(\.rawValue).sorted()
        return update
    }

    func updateAllocationStatus(
        request: Caravan_Node_V1_UpdateAllocationStatusRequest, context: ServerContext
    ) async throws -> Caravan_Node_V1_UpdateAllocationStatusResponse {
        _ = try authorizer.authorize(context)
        return try await apply(request)
    }

    /// At most this many requests of one status stream are applied at once;
    /// further ones wait (a node keeps far fewer in flight).
    static let statusBatchesAppliedAtOnce = 64

    func streamAllocationStatus(
        request: RPCAsyncSequence<Caravan_Node_V1_UpdateAllocationStatusRequest, any Error>,
        response: RPCWriter<Caravan_Node_V1_UpdateAllocationStatusResponse>, context: ServerContext
    ) async throws {
        _ = try authorizer.authorize(context)
        let (answers, answering) = AsyncStream<Caravan_Node_V1_UpdateAllocationStatusResponse>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await answer in answers { try await response.write(answer) }
            }
            // Each request applies without waiting for the ones before it:
            // their numbers, not their order of commit, order the statuses.
            try await withThrowingTaskGroup(of: Void.self) { batches in
                var applying = 0
                for try await batch in request {
                    if let unnumbered = batch.statuses.first(where: { $0.sequence == 0 }) {
                        throw RPCError(code: .invalidArgument, message: "allocation \(unnumbered.allocationID): a status sent on a stream needs its sequence number")
                    }
                    if applying == Self.statusBatchesAppliedAtOnce {
                        try await batches.next()
                        applying -= 1
                    }
                    applying += 1
                    batches.addTask {
                        var answer = try await self.apply(batch)
                        answer.lastSequence = batch.statuses.map(\.sequence).max() ?? 0
                        answering.yield(answer)
                    }
                }
                try await batches.waitForAll()
            }
            answering.finish()
            try await group.waitForAll()
        }
    }

    /// Writes a node's status reports through the leader.
    private func apply(_ request: Caravan_Node_V1_UpdateAllocationStatusRequest) async throws -> Caravan_Node_V1_UpdateAllocationStatusResponse {
        let updates = request.statuses.map { s in
            ClientAllocationUpdate(
                allocationID: AllocationID(s.allocationID), clientStatus: ClientStatus(rawValue: s.clientStatus) ?? .unknown,
                clientDescription: s.clientDescription, taskStates: s.tasks.mapValues(\.model),
                observedAt: s.observedAtUnixNano == 0 ? .now : Timestamp(unixNanoseconds: s.observedAtUnixNano),
                sequence: s.sequence == 0 ? nil : s.sequence)
        }
        if let unknown = request.statuses.first(where: { ClientStatus(rawValue: $0.clientStatus) == nil }) {
            throw RPCError(code: .invalidArgument, message: "allocation \(unknown.allocationID): client_status \"\(unknown.clientStatus)\" is not one of \(ClientStatus.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return try await router.write({ () throws(ControlPlaneError) in
            var response = Caravan_Node_V1_UpdateAllocationStatusResponse()
            response.index = try await plane.updateAllocations(node: NodeID(request.nodeID), updates)
            return response
        }, forward: { try await $0.node.updateAllocationStatus(request) })
    }

    func relayLogs(
        request: RPCAsyncSequence<Caravan_Node_V1_LogRelayMessage, any Error>,
        response: RPCWriter<Caravan_Node_V1_LogRequest>, context: ServerContext
    ) async throws {
        _ = try authorizer.authorize(context)
        try await logs.serve(request, response)
    }

    /// The parts of an allocation that the node acts on.
    struct Assignment: Hashable {
        var desired: DesiredStatus
        var jobVersion: Int
        var fingerprint: UInt64
        init(_ a: Allocation) {
            desired = a.desiredStatus
            jobVersion = a.jobVersion
            fingerprint = a.groupFingerprint
        }
    }

    /// `a` as the node runs it, with its job; Packed when the node reads it
    /// (a node from before that reads the JSON).
    static func assignment(_ a: Allocation, state: ServerState, packed: Bool) -> Caravan_Node_V1_AllocationAssignment {
        var wire = Caravan_Node_V1_AllocationAssignment()
        wire.allocationID = a.id.rawValue
        wire.desiredStatus = a.desiredStatus.rawValue
        let record = state.jobs[a.jobKey]
        let job = record?.versions.last(where: { $0.version == a.jobVersion }) ?? record?.current
        if packed, let allocation = try? Packed.encode(a), let encodedJob = try? job.map({ try Packed.encode($0) }) ?? [] {
            wire.allocationPacked = Data(allocation)
            wire.jobPacked = Data(encodedJob)
            return wire
        }
        wire.allocationJson = WireJSON.encode(a)
        if let job { wire.jobJson = WireJSON.encode(job) }
        return wire
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
