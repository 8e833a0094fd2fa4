import API
import GRPCCore
import Model
import Transport

/// The `Nodes` gRPC service: what operators see of and do to client nodes.
struct NodesHandler: Caravan_Api_V1_Nodes.SimpleServiceProtocol {
    let plane: ControlPlane
    let router: LeaderRouter

    func get(request: Caravan_Api_V1_GetNodeRequest, context: ServerContext) async throws -> Caravan_Api_V1_GetNodeResponse {
        guard !request.nodeID.isEmpty else { throw RPCError(code: .invalidArgument, message: "node_id: must not be empty") }
        return try await router.write({ () throws(ControlPlaneError) in
            let state = try await plane.read(stale: false)
            guard let node = ControlPlane.node(NodeID(request.nodeID), in: state) else {
                throw .notFound("no node has the ID, unique ID prefix or name \"\(request.nodeID)\"")
            }
            var response = Caravan_Api_V1_GetNodeResponse()
            response.meta = JobsHandler.meta(state)
            response.node.summary = .init(node, modifyIndex: state.nodeModifyIndex[node.id] ?? 0)
            response.node.nodeJson = WireJSON.encode(node)
            return response
        }, forward: { try await $0.nodes.get(request) })
    }

    func list(request: Caravan_Api_V1_ListNodesRequest, context: ServerContext) async throws -> Caravan_Api_V1_ListNodesResponse {
        let options = request.options
        return try await router.write({ () throws(ControlPlaneError) in
            let state = try await plane.read(stale: options.allowStale)
            let matching = state.cluster.nodes.filter { n in
                (request.status.isEmpty || n.status.rawValue == request.status)
                    && (request.nodePool.isEmpty || n.nodePool == request.nodePool)
                    && (request.datacenter.isEmpty || n.datacenter == request.datacenter)
                    && (options.prefix.isEmpty || n.id.rawValue.hasPrefix(options.prefix))
            }
            let (items, next) = page(matching, options: options) { $0.id.rawValue }
            var response = Caravan_Api_V1_ListNodesResponse()
            response.meta = JobsHandler.meta(state)
            response.page.nextCursor = next
            response.nodes = items.map { .init($0, modifyIndex: state.nodeModifyIndex[$0.id] ?? 0) }
            return response
        }, forward: { try await $0.nodes.list(request) })
    }

    func drain(request: Caravan_Api_V1_DrainNodeRequest, context: ServerContext) async throws -> Caravan_Api_V1_DrainNodeResponse {
        let spec: DrainSpec? = request.hasDrain ? DrainSpec(
            deadline: request.drain.deadlineMs == 0 ? nil : .milliseconds(max(0, request.drain.deadlineMs)),
            ignoreSystemJobs: request.drain.ignoreSystemJobs, startedAt: .now) : nil
        return try await router.write({ () throws(ControlPlaneError) in
            let (index, evaluations) = try await plane.drainNode(NodeID(request.nodeID), spec: spec, markEligible: request.markEligible)
            var response = Caravan_Api_V1_DrainNodeResponse()
            response.meta.index = index
            response.evaluationIds = evaluations.map(\.rawValue)
            return response
        }, forward: { try await $0.nodes.drain(request) })
    }

    func setEligibility(
        request: Caravan_Api_V1_SetNodeEligibilityRequest, context: ServerContext
    ) async throws -> Caravan_Api_V1_SetNodeEligibilityResponse {
        try await router.write({ () throws(ControlPlaneError) in
            var response = Caravan_Api_V1_SetNodeEligibilityResponse()
            response.meta.index = try await plane.setNodeEligibility(NodeID(request.nodeID), eligible: request.eligible)
            return response
        }, forward: { try await $0.nodes.setEligibility(request) })
    }
}

/// The `Logs` gRPC service: a task's output, relayed from its node.
struct LogsHandler: Caravan_Api_V1_Logs.SimpleServiceProtocol {
    let plane: ControlPlane
    let relays: LogRelayHub

    func stream(request: Caravan_Api_V1_StreamLogsRequest, response: RPCWriter<Caravan_Api_V1_LogChunk>, context: ServerContext) async throws {
        let wanted = request.allocationID
        let allocation: Allocation
        let tasks: [String]
        do {
            // Not held while the logs stream: an apply that finds the state
            // shared copies every map it changes.
            let state = plane.stateMachine.snapshotOfState
            let matches = state.cluster.allocations.values.filter { $0.id.rawValue == wanted || $0.id.rawValue.hasPrefix(wanted) }
            guard !wanted.isEmpty, matches.count == 1, let found = matches.first else {
                throw RPCError(code: matches.count > 1 ? .invalidArgument : .notFound,
                               message: matches.count > 1 ? "allocation prefix \"\(wanted)\" matches \(matches.count) allocations" : "allocation \"\(wanted)\" does not exist")
            }
            allocation = found
            tasks = state.jobs[found.jobKey]?.versions.last { $0.version == found.jobVersion }?
                .spec.groups.first { $0.name == found.group }?.tasks.map(\.name) ?? []
        }
        let task = request.task.isEmpty ? (tasks.count == 1 ? tasks[0] : "") : request.task
        guard !task.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "allocation \(allocation.name) has tasks \(tasks.joined(separator: ", ")): name one with --task")
        }
        var ask = Caravan_Node_V1_LogRequest()
        ask.allocationID = allocation.id.rawValue
        ask.task = task
        ask.stream = request.stream == .stderr ? "stderr" : "stdout"
        ask.fromEnd = request.origin == .end
        ask.offset = request.offset
        ask.follow = request.follow
        guard let chunks = relays.open(allocation.nodeID, ask) else {
            throw RPCError(code: .unavailable, message: "node \(allocation.nodeName) is not connected to this server; its logs cannot be read now")
        }
        for try await chunk in chunks {
            var out = Caravan_Api_V1_LogChunk()
            out.data = chunk.data
            out.offset = chunk.offset
            out.endOfStream = chunk.endOfStream
            try await response.write(out)
        }
    }
}
