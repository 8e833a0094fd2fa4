import API
import Foundation
import Model
import Transport

// The `--json` forms of what the commands show: snake_case keys, RFC 3339
// times, full IDs; job specifications in their job-file document form.

extension JSONOutput {
    static func job(_ s: Caravan_Api_V1_JobSummary) -> JSONOutput {
        .object([
            "id": .string(s.id), "name": .string(s.name), "namespace": .string(s.namespace),
            "type": .string(s.type), "priority": .int(s.priority), "status": .string(s.status),
            "stop": .bool(s.stop), "version": .int(s.version), "datacenters": .strings(s.datacenters),
            "submit_time": .time(unixNanoseconds: s.submitTimeUnixNano),
            "create_index": .int(s.createIndex), "modify_index": .int(s.modifyIndex),
            "allocation_counts": .map(s.allocationCounts) { .int($0) },
        ])
    }

    static func allocation(_ s: Caravan_Api_V1_AllocationSummary) -> JSONOutput {
        .object([
            "id": .string(s.id), "name": .string(s.name), "namespace": .string(s.namespace),
            "job_id": .string(s.jobID), "job_version": .int(s.jobVersion), "group": .string(s.group),
            "node_id": .string(s.nodeID), "node_name": .string(s.nodeName),
            "desired_status": .string(s.desiredStatus), "client_status": .string(s.clientStatus),
            "client_description": .string(s.clientDescription),
            "create_time": .time(unixNanoseconds: s.createTimeUnixNano),
            "modify_time": .time(unixNanoseconds: s.modifyTimeUnixNano),
        ])
    }

    static func allocation(_ a: Allocation, exitCodes: [String: Int32] = [:]) -> JSONOutput {
        .object([
            "id": .string(a.id.rawValue), "name": .string(a.name), "namespace": .string(a.namespace),
            "job_id": .string(a.jobID), "job_version": .int(a.jobVersion), "group": .string(a.group),
            "node_id": .string(a.nodeID.rawValue), "node_name": .string(a.nodeName),
            "desired_status": .string(a.desiredStatus.rawValue), "desired_description": .string(a.desiredDescription),
            "client_status": .string(a.clientStatus.rawValue), "client_description": .string(a.clientDescription),
            "resources": .object([
                "cpu": .int(a.resources.cpu), "cores": .int(a.resources.cores), "memory_mb": .int(a.resources.memoryMB),
                "memory_max_mb": a.resources.memoryMaxMB.map { .int($0) }, "disk_mb": .int(a.resources.diskMB),
            ]),
            "task_states": .map(a.taskStates) { state in
                .object([
                    "state": .string(state.state.rawValue), "failed": .bool(state.failed), "restarts": .int(state.restarts),
                    "started_at": .time(state.startedAt), "finished_at": .time(state.finishedAt),
                ])
            },
            "exit_codes": exitCodes.isEmpty ? nil : .map(exitCodes) { .int($0) },
            "previous_allocation": a.previousAllocation.map { .string($0.rawValue) },
            "next_allocation": a.nextAllocation.map { .string($0.rawValue) },
            "create_time": .time(a.createdAt), "modify_time": .time(a.modifiedAt),
        ])
    }

    static func evaluation(_ e: Evaluation) -> JSONOutput {
        .object([
            "id": .string(e.id.rawValue), "namespace": .string(e.namespace), "job_id": .string(e.jobID),
            "triggered_by": .string(e.trigger.rawValue), "status": .string(e.status.rawValue),
            "status_description": .string(e.statusDescription), "priority": .int(e.priority),
            "previous_evaluation": e.previousEvaluation.map { .string($0.rawValue) },
            "create_time": .time(e.createdAt),
        ])
    }

    static func evaluation(_ s: Caravan_Api_V1_EvaluationSummary) -> JSONOutput {
        .object([
            "id": .string(s.id), "namespace": .string(s.namespace), "job_id": .string(s.jobID),
            "triggered_by": .string(s.triggeredBy), "status": .string(s.status),
            "status_description": .string(s.statusDescription), "priority": .int(s.priority),
            "create_time": .time(unixNanoseconds: s.createTimeUnixNano),
        ])
    }

    static func node(_ s: Caravan_Api_V1_NodeSummary) -> JSONOutput {
        .object([
            "id": .string(s.id), "name": .string(s.name), "datacenter": .string(s.datacenter),
            "node_class": .string(s.nodeClass), "node_pool": .string(s.nodePool), "status": .string(s.status),
            "eligibility": .string(s.eligibility), "drain": .bool(s.drain), "address": .string(s.address),
            "drivers": .strings(s.drivers), "status_updated": .time(unixNanoseconds: s.statusUpdatedUnixNano),
            "create_index": .int(s.createIndex), "modify_index": .int(s.modifyIndex),
        ])
    }

    static func node(_ n: Node, summary: Caravan_Api_V1_NodeSummary) -> JSONOutput {
        guard case .object(var members) = node(summary) else { return node(summary) }
        members += [
            Member(key: "attributes", value: .map(n.attributes) { .string($0) }),
            Member(key: "meta", value: .map(n.meta) { .string($0) }),
            Member(key: "resources", value: .object([
                "cpu": .int(n.resources.cpu), "cores": .int(n.resources.cores),
                "memory_mb": .int(n.resources.memoryMB), "disk_mb": .int(n.resources.diskMB),
            ])),
            Member(key: "datasets", value: .map(n.datasets) { .object(["size_bytes": .int($0.sizeBytes), "version": $0.version.map { .string($0) }]) }),
        ]
        return .object(members)
    }

    static func member(_ m: Caravan_Api_V1_ServerMember) -> JSONOutput {
        .object([
            "id": .int(m.id), "name": .string(m.name), "address": .string(m.address), "region": .string(m.region),
            "datacenter": .string(m.datacenter), "status": .string(m.status), "leader": .bool(m.leader),
            "voter": .bool(m.voter), "version": .string(m.version),
        ])
    }

    static func peer(_ p: Caravan_Api_V1_RaftPeer, name: String?) -> JSONOutput {
        .object([
            "id": .int(p.id), "name": name.map { .string($0) }, "address": .string(p.address),
            "leader": .bool(p.leader), "voter": .bool(p.voter), "match_index": .int(p.matchIndex),
            "last_contact_ms": .int(p.lastContactMs),
        ])
    }

    static func spec(_ spec: JobSpec) -> JSONOutput { JSONOutput(spec.specValue) }
}
