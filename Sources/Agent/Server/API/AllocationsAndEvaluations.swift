import API
import GRPCCore
import Model
import Transport

/// A page of `items` (sorted by `cursor`) after `options.cursor`.
func page<T>(_ items: [T], options: Caravan_Api_V1_ListOptions, cursor: (T) -> String) -> (items: [T], next: String) {
    let size = options.pageSize == 0 ? 100 : Int(min(options.pageSize, 1000))
    let after = items.filter { cursor($0) > options.cursor }.sorted { cursor($0) < cursor($1) }
    guard after.count > size else { return (after, "") }
    let taken = Array(after.prefix(size))
    return (taken, cursor(taken[taken.count - 1]))
}

/// Whether `namespace` (empty: default, `*`: all) admits `candidate`.
func namespaceMatches(_ namespace: String, _ candidate: String) -> Bool {
    namespace == "*" || candidate == (namespace.isEmpty ? "default" : namespace)
}

/// The `Evaluations` gRPC service.
struct EvaluationsHandler: Caravan_Api_V1_Evaluations.SimpleServiceProtocol {
    let plane: ControlPlane
    let router: LeaderRouter

    func get(request: Caravan_Api_V1_GetEvaluationRequest, context: ServerContext) async throws -> Caravan_Api_V1_GetEvaluationResponse {
        try await router.write({ () throws(ControlPlaneError) in
            let state = try await plane.read(stale: false)
            guard let e = state.evaluations[EvaluationID(request.evaluationID)] else {
                throw .notFound("evaluation \"\(request.evaluationID)\" does not exist")
            }
            var response = Caravan_Api_V1_GetEvaluationResponse()
            response.meta = JobsHandler.meta(state)
            response.evaluation.summary = .init(e, modifyIndex: state.evaluationModifyIndex[e.id] ?? 0)
            response.evaluation.evaluationJson = WireJSON.encode(e)
            return response
        }, forward: { try await $0.evaluations.get(request) })
    }

    func list(request: Caravan_Api_V1_ListEvaluationsRequest, context: ServerContext) async throws -> Caravan_Api_V1_ListEvaluationsResponse {
        let options = request.options
        return try await router.write({ () throws(ControlPlaneError) in
            let state = try await plane.read(stale: options.allowStale)
            let matching = state.evaluations.values.filter { e in
                namespaceMatches(options.namespace, e.namespace)
                    && (request.jobID.isEmpty || e.jobID == request.jobID)
                    && (request.status.isEmpty || e.status.rawValue == request.status)
                    && (options.prefix.isEmpty || e.id.rawValue.hasPrefix(options.prefix))
            }
            let (items, next) = page(Array(matching), options: options) { $0.id.rawValue }
            var response = Caravan_Api_V1_ListEvaluationsResponse()
            response.meta = JobsHandler.meta(state)
            response.page.nextCursor = next
            response.evaluations = items.map { .init($0, modifyIndex: state.evaluationModifyIndex[$0.id] ?? 0) }
            return response
        }, forward: { try await $0.evaluations.list(request) })
    }
}

/// The `Allocations` gRPC service.
struct AllocationsHandler: Caravan_Api_V1_Allocations.SimpleServiceProtocol {
    let plane: ControlPlane
    let router: LeaderRouter

    func get(request: Caravan_Api_V1_GetAllocationRequest, context: ServerContext) async throws -> Caravan_Api_V1_GetAllocationResponse {
        try await router.write({ () throws(ControlPlaneError) in
            let state = try await plane.read(stale: false)
            let wanted = request.allocationID
            guard !wanted.isEmpty else { throw .invalidArgument("allocation_id: must not be empty") }
            let found: Allocation
            if let exact = state.cluster.allocations[AllocationID(wanted)] {
                found = exact
            } else {
                let matches = state.cluster.allocations.values.filter { $0.id.rawValue.hasPrefix(wanted) }
                guard matches.count == 1, let only = matches.first else {
                    throw matches.isEmpty
                        ? .notFound("allocation \"\(wanted)\" does not exist")
                        : .invalidArgument("allocation_id: \"\(wanted)\" is a prefix of \(matches.count) allocations; give more of it")
                }
                found = only
            }
            var response = Caravan_Api_V1_GetAllocationResponse()
            response.meta = JobsHandler.meta(state)
            response.allocation.summary = .init(found)
            response.allocation.allocationJson = WireJSON.encode(found)
            return response
        }, forward: { try await $0.allocations.get(request) })
    }

    func list(request: Caravan_Api_V1_ListAllocationsRequest, context: ServerContext) async throws -> Caravan_Api_V1_ListAllocationsResponse {
        let options = request.options
        return try await router.write({ () throws(ControlPlaneError) in
            let state = try await plane.read(stale: options.allowStale)
            let candidates: [Allocation]
            if !request.jobID.isEmpty {
                candidates = state.cluster.allocations(ofJob: JobKey(namespace: options.namespace.isEmpty ? "default" : options.namespace, id: request.jobID))
            } else if !request.nodeID.isEmpty {
                candidates = state.cluster.allocations(onNode: NodeID(request.nodeID))
            } else {
                candidates = Array(state.cluster.allocations.values)
            }
            let matching = candidates.filter { a in
                namespaceMatches(options.namespace, a.namespace)
                    && (request.nodeID.isEmpty || a.nodeID.rawValue == request.nodeID)
                    && (request.clientStatus.isEmpty || a.clientStatus.rawValue == request.clientStatus)
                    && (options.prefix.isEmpty || a.id.rawValue.hasPrefix(options.prefix))
            }
            let (items, next) = page(matching, options: options) { $0.id.rawValue }
            var response = Caravan_Api_V1_ListAllocationsResponse()
            response.meta = JobsHandler.meta(state)
            response.page.nextCursor = next
            response.allocations = items.map { .init($0) }
            return response
        }, forward: { try await $0.allocations.list(request) })
    }
}
