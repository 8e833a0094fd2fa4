import Foundation
import GRPCCore
import Model
import Transport

/// Reads of a cluster's state that take more than one call: every page of a
/// list, and full Model values decoded from the wire.
public struct ClusterReader: Sendable {
    public let connection: ClusterConnection

    public init(connection: ClusterConnection) {
        self.connection = connection
    }

    /// Every job in `namespace` (`*`: all) whose ID starts with `prefix`.
    public func jobs(namespace: String = "default", prefix: String = "") async throws -> [Caravan_Api_V1_JobSummary] {
        var all: [Caravan_Api_V1_JobSummary] = []
        var request = Caravan_Api_V1_ListJobsRequest()
        request.options.namespace = namespace
        request.options.prefix = prefix
        repeat {
            let response = try await connection.jobs.list(request)
            all += response.jobs
            request.options.cursor = response.page.nextCursor
        } while !request.options.cursor.isEmpty
        return all
    }

    /// The job's current version (or `version`), with its decoded specification.
    public func job(_ key: JobKey, version: Int? = nil) async throws -> (job: Caravan_Api_V1_Job, spec: JobSpec) {
        var request = Caravan_Api_V1_GetJobRequest()
        request.jobID = key.id
        request.namespace = key.namespace
        if let version {
            request.version = UInt64(version)
            request.versionSet = true
        }
        let response = try await connection.jobs.get(request)
        let spec = try WireJSON.decode(JobSpec.self, from: response.job.specJson)
        return (response.job, spec)
    }

    /// Every allocation of the job.
    public func allocations(ofJob key: JobKey) async throws -> [Caravan_Api_V1_AllocationSummary] {
        var request = Caravan_Api_V1_ListAllocationsRequest()
        request.jobID = key.id
        request.options.namespace = key.namespace
        return try await allocations(request)
    }

    /// Every allocation placed on the node, in every namespace.
    public func allocations(onNode id: String) async throws -> [Caravan_Api_V1_AllocationSummary] {
        var request = Caravan_Api_V1_ListAllocationsRequest()
        request.nodeID = id
        request.options.namespace = "*"
        return try await allocations(request)
    }

    private func allocations(_ first: Caravan_Api_V1_ListAllocationsRequest) async throws -> [Caravan_Api_V1_AllocationSummary] {
        var request = first
        var all: [Caravan_Api_V1_AllocationSummary] = []
        repeat {
            let response = try await connection.allocations.list(request)
            all += response.allocations
            request.options.cursor = response.page.nextCursor
        } while !request.options.cursor.isEmpty
        return all
    }

    /// The allocation with this ID (or unique ID prefix) and the index it was
    /// read at; nil when it does not exist.
    public func allocation(_ id: String) async throws -> (Allocation, UInt64)? {
        do {
            let (allocation, _, index) = try await allocationWithJSON(id)
            return (allocation, index)
        } catch let error as RPCError where error.code == .notFound {
            return nil
        }
    }

    /// The allocation with this ID (or unique ID prefix), its JSON as the
    /// server sent it (which may hold fields this library's Model does not
    /// know yet), and the index it was read at.
    public func allocationWithJSON(_ id: String) async throws -> (allocation: Allocation, json: Data, index: UInt64) {
        var request = Caravan_Api_V1_GetAllocationRequest()
        request.allocationID = id
        let response = try await connection.allocations.get(request)
        let allocation = try WireJSON.decode(Allocation.self, from: response.allocation.allocationJson)
        return (allocation, response.allocation.allocationJson, response.meta.index)
    }

    /// Every evaluation of the job, or only those in `status`.
    public func evaluations(ofJob key: JobKey, status: EvaluationStatus? = nil) async throws -> [Caravan_Api_V1_EvaluationSummary] {
        var request = Caravan_Api_V1_ListEvaluationsRequest()
        request.jobID = key.id
        request.status = status?.rawValue ?? ""
        request.options.namespace = key.namespace
        var all: [Caravan_Api_V1_EvaluationSummary] = []
        repeat {
            let response = try await connection.evaluations.list(request)
            all += response.evaluations
            request.options.cursor = response.page.nextCursor
        } while !request.options.cursor.isEmpty
        return all
    }

    /// Every client node.
    public func nodes() async throws -> [Caravan_Api_V1_NodeSummary] {
        var request = Caravan_Api_V1_ListNodesRequest()
        var all: [Caravan_Api_V1_NodeSummary] = []
        repeat {
            let response = try await connection.nodes.list(request)
            all += response.nodes
            request.options.cursor = response.page.nextCursor
        } while !request.options.cursor.isEmpty
        return all
    }
}
