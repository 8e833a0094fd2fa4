import Foundation
import GRPCCore
import Model
import Transport

/// Reads a task's output through the Logs service: finds the allocation of a
/// job to read from, the task within it, and streams the bytes.
///
/// ```swift
/// let logs = TaskLogs(connection: connection)
/// let target = try await logs.target(job: JobKey(id: "hello"), task: nil)
/// try await logs.stream(target, .stdout, follow: true) { data in FileHandle.standardOutput.write(data) }
/// ```
public struct TaskLogs: Sendable {
    /// A task of one allocation.
    public struct Target: Sendable, Hashable {
        public var allocation: Allocation
        public var task: String

        public init(allocation: Allocation, task: String) {
            self.allocation = allocation
            self.task = task
        }
    }

    /// Which output to read.
    public enum Output: String, Sendable, Hashable, CaseIterable {
        case stdout, stderr

        var wire: Caravan_Api_V1_LogStream {
            switch self {
            case .stdout: .stdout
            case .stderr: .stderr
            }
        }
    }

    public let connection: ClusterConnection

    public init(connection: ClusterConnection) {
        self.connection = connection
    }

    /// The allocation of `job` to read logs from, and its task named `task`
    /// (which may be nil when the group has one task).
    ///
    /// The allocation chosen: a running one (the newest), else the most
    /// recently modified one of the job's latest version.
    /// - Throws: ``APIError`` when the job has no allocations, or the task is
    ///   ambiguous or unknown; the server's `RPCError` when the job does not exist.
    public func target(job key: JobKey, task: String?) async throws -> Target {
        let reader = ClusterReader(connection: connection)
        _ = try await reader.job(key)  // a clear "not registered" error when it is not
        let summaries = try await reader.allocations(ofJob: key)
        let running = ClientStatus.running.rawValue
        let newest = summaries.max { a, b in
            if (a.clientStatus == running) != (b.clientStatus == running) { return b.clientStatus == running }
            if a.jobVersion != b.jobVersion { return a.jobVersion < b.jobVersion }
            return a.modifyTimeUnixNano < b.modifyTimeUnixNano
        }
        guard let chosen = newest else {
            throw APIError("job \"\(key.id)\" has no allocations yet: it has not been placed on a node")
        }
        return try await target(allocation: chosen.id, task: task)
    }

    /// The allocation with this ID (or unique prefix) and its task named
    /// `task` (which may be nil when the group has one task).
    public func target(allocation id: String, task: String?) async throws -> Target {
        let reader = ClusterReader(connection: connection)
        let (allocation, _, _) = try await reader.allocationWithJSON(id)
        let tasks = try await taskNames(of: allocation)
        if let task {
            guard tasks.contains(task) else {
                throw APIError("allocation \(allocation.id) (group \"\(allocation.group)\") has no task \"\(task)\"; its tasks: \(tasks.joined(separator: ", "))")
            }
            return Target(allocation: allocation, task: task)
        }
        guard tasks.count == 1, let only = tasks.first else {
            throw APIError("allocation \(allocation.id) (group \"\(allocation.group)\") has \(tasks.count) tasks (\(tasks.joined(separator: ", "))): name the one to read")
        }
        return Target(allocation: allocation, task: only)
    }

    /// The names of the tasks of the allocation's group, from the job version it runs.
    public func taskNames(of allocation: Allocation) async throws -> [String] {
        if !allocation.taskStates.isEmpty { return allocation.taskStates.keys.sorted() }
        let reader = ClusterReader(connection: connection)
        let spec: JobSpec
        do {
            spec = try await reader.job(allocation.jobKey, version: allocation.jobVersion).spec
        } catch let error as RPCError where error.code == .notFound {
            // That version is no longer kept: the current one names the same group.
            spec = try await reader.job(allocation.jobKey).spec
        }
        guard let group = spec.group(named: allocation.group) else {
            throw APIError("job \"\(allocation.jobID)\" no longer has the group \"\(allocation.group)\" of allocation \(allocation.id)")
        }
        return group.tasks.map(\.name)
    }

    /// Streams `output` of the target's task to `write`: from byte `offset`
    /// (or only the last `tail` bytes) to its end — with `follow`, on until
    /// the task has finished or the caller cancels.
    public func stream(
        _ target: Target, _ output: Output, follow: Bool, from offset: Int64 = 0, tail: Int64? = nil,
        write: @escaping @Sendable (Data) async throws -> Void
    ) async throws {
        var request = Caravan_Api_V1_StreamLogsRequest()
        request.allocationID = target.allocation.id.rawValue
        request.task = target.task
        request.stream = output.wire
        request.follow = follow
        if let tail {
            request.origin = .end
            request.offset = tail
        } else {
            request.origin = .start
            request.offset = offset
        }
        try await connection.logs.stream(request) { response in
            for try await chunk in response.messages {
                if !chunk.data.isEmpty { try await write(chunk.data) }
                if chunk.endOfStream { break }
            }
        }
    }
}
