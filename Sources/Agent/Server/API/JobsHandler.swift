import API
import Foundation
import GRPCCore
import Model
import Transport

/// The `Jobs` gRPC service over the ``ControlPlane``.
struct JobsHandler: Caravan_Api_V1_Jobs.SimpleServiceProtocol {
    let plane: ControlPlane
    let router: LeaderRouter
    /// The largest specification accepted, in bytes.
    let maxSpecBytes: Int

    func register(request: Caravan_Api_V1_RegisterJobRequest, context: ServerContext) async throws -> Caravan_Api_V1_RegisterJobResponse {
        let spec = try parseSpec(request.specJson)
        return try await router.write({ () throws(ControlPlaneError) in
            if request.enforceIndexSet {
                let state = try await plane.read(stale: false)
                let current = state.jobs[spec.key]?.modifyIndex ?? 0
                guard current == request.enforceIndex else {
                    throw .invalidArgument("enforce_index \(request.enforceIndex) does not match the job's modify index \(current): it changed since it was planned")
                }
            }
            let registration = try await plane.registerJob(spec, idempotencyKey: request.idempotencyKey)
            var response = Caravan_Api_V1_RegisterJobResponse()
            response.meta.index = registration.index
            response.jobID = spec.id
            response.jobVersion = UInt64(registration.jobVersion)
            response.evaluationID = registration.evaluationID?.rawValue ?? ""
            return response
        }, forward: { try await $0.jobs.register(request) })
    }

    func plan(request: Caravan_Api_V1_PlanJobRequest, context: ServerContext) async throws -> Caravan_Api_V1_PlanJobResponse {
        let spec = try parseSpec(request.specJson)
        return try await router.write({ () throws(ControlPlaneError) in
            let (plan, modifyIndex) = try await plane.planJob(spec)
            var response = Caravan_Api_V1_PlanJobResponse()
            response.jobModifyIndex = modifyIndex
            response.annotationsJson = WireJSON.encode(plan.desiredChanges)
            for failure in plan.failedPlacements {
                response.failedPlacements[failure.group] = failure.description
            }
            return response
        }, forward: { try await $0.jobs.plan(request) })
    }

    func get(request: Caravan_Api_V1_GetJobRequest, context: ServerContext) async throws -> Caravan_Api_V1_GetJobResponse {
        let key = JobKey(namespace: Self.namespace(request.namespace), id: request.jobID)
        return try await router.write({ () throws(ControlPlaneError) in
            let state = try await plane.read(stale: false)
            guard let record = state.jobs[key] else { throw .notFound("job \"\(key.id)\" is not registered in namespace \"\(key.namespace)\"") }
            let job: Job
            if request.versionSet {
                guard let found = record.versions.first(where: { $0.version == Int(request.version) }) else {
                    throw .notFound("job \"\(key.id)\" has no version \(request.version) (kept: \(record.versions.map { String($0.version) }.joined(separator: ", ")))")
                }
                job = found
            } else {
                job = record.current
            }
            var response = Caravan_Api_V1_GetJobResponse()
            response.meta = Self.meta(state)
            response.job = Self.wire(job, record: record, state: state)
            return response
        }, forward: { try await $0.jobs.get(request) })
    }

    func list(request: Caravan_Api_V1_ListJobsRequest, context: ServerContext) async throws -> Caravan_Api_V1_ListJobsResponse {
        let options = request.options
        return try await router.write({ () throws(ControlPlaneError) in
            let state = try await plane.read(stale: options.allowStale)
            let matching = state.jobs.values.filter { record in
                let job = record.current
                return namespaceMatches(options.namespace, job.spec.namespace)
                    && (options.prefix.isEmpty || job.spec.id.hasPrefix(options.prefix))
                    && (request.type.isEmpty || job.spec.type.rawValue == request.type)
                    && (request.status.isEmpty || state.status(of: job.key) == request.status)
            }
            let (items, next) = page(matching, options: options) { Self.cursorKey($0.current.key) }
            var response = Caravan_Api_V1_ListJobsResponse()
            response.meta = Self.meta(state)
            response.page.nextCursor = next
            response.jobs = items.map { Self.wire($0.current, record: $0, state: state).summary }
            return response
        }, forward: { try await $0.jobs.list(request) })
    }

    func stop(request: Caravan_Api_V1_StopJobRequest, context: ServerContext) async throws -> Caravan_Api_V1_StopJobResponse {
        let key = JobKey(namespace: Self.namespace(request.namespace), id: request.jobID)
        return try await router.write({ () throws(ControlPlaneError) in
            let (evaluation, index) = try await plane.stopJob(key, purge: request.purge)
            var response = Caravan_Api_V1_StopJobResponse()
            response.meta.index = index
            response.evaluationID = evaluation?.rawValue ?? ""
            return response
        }, forward: { try await $0.jobs.stop(request) })
    }

    func purge(request: Caravan_Api_V1_PurgeJobRequest, context: ServerContext) async throws -> Caravan_Api_V1_PurgeJobResponse {
        let key = JobKey(namespace: Self.namespace(request.namespace), id: request.jobID)
        return try await router.write({ () throws(ControlPlaneError) in
            let (evaluation, index) = try await plane.stopJob(key, purge: true)
            var response = Caravan_Api_V1_PurgeJobResponse()
            response.meta.index = index
            response.evaluationID = evaluation?.rawValue ?? ""
            return response
        }, forward: { try await $0.jobs.purge(request) })
    }

    func versions(request: Caravan_Api_V1_ListJobVersionsRequest, context: ServerContext) async throws -> Caravan_Api_V1_ListJobVersionsResponse {
        let key = JobKey(namespace: Self.namespace(request.namespace), id: request.jobID)
        return try await router.write({ () throws(ControlPlaneError) in
            let state = try await plane.read(stale: false)
            guard let record = state.jobs[key] else { throw .notFound("job \"\(key.id)\" is not registered in namespace \"\(key.namespace)\"") }
            var response = Caravan_Api_V1_ListJobVersionsResponse()
            response.meta = Self.meta(state)
            response.versions = record.versions.reversed().map { Self.wire($0, record: record, state: state) }
            return response
        }, forward: { try await $0.jobs.versions(request) })
    }

    // MARK: Mapping

    private func parseSpec(_ data: Data) throws -> JobSpec {
        guard data.count <= maxSpecBytes else {
            throw RPCError(code: .invalidArgument, message: "spec_json is \(data.count) bytes; the largest accepted is \(maxSpecBytes)")
        }
        guard !data.isEmpty else { throw RPCError(code: .invalidArgument, message: "spec_json is empty: send the job specification as JSON") }
        // The fast path: JSON as the CLI and API clients send it. Anything it
        // refuses takes the general reader (YAML, a superset of JSON), whose
        // messages say what is wrong.
        if let tree = try? SpecValue(json: data), let spec = try? JobSpec.parse(document: tree) { return spec }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RPCError(code: .invalidArgument, message: "spec_json is not UTF-8 text")
        }
        do {
            return try JobSpec.parse(json: text)
        } catch {
            throw RPCError(code: .invalidArgument, message: "invalid job specification:\n\(error)")
        }
    }

    static func namespace(_ text: String) -> String { text.isEmpty ? "default" : text }

    static func cursorKey(_ key: JobKey) -> String { key.namespace + "/" + key.id }

    static func meta(_ state: ServerState) -> Caravan_Api_V1_QueryMeta {
        var meta = Caravan_Api_V1_QueryMeta()
        meta.index = state.appliedIndex
        meta.knownLeader = true
        return meta
    }

    static func wire(_ job: Job, record: JobRecord, state: ServerState) -> Caravan_Api_V1_Job {
        var wire = Caravan_Api_V1_Job()
        wire.summary = Caravan_Api_V1_JobSummary(
            job: job, status: state.status(of: job.key), createIndex: record.createIndex, modifyIndex: record.modifyIndex,
            allocationCounts: state.allocationCounts(of: job.key))
        wire.specJson = WireJSON.encode(job.spec)
        return wire
    }
}
