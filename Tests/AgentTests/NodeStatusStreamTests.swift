import API
import Foundation
import GRPCCore
import Model
import Testing
import Transport

/// A node's status stream: batches apply as they arrive, each answered with
/// its last number, and their numbers order each allocation's statuses
/// whatever order the batches commit in.
struct NodeStatusStreamTests {
    static func status(_ allocation: String, _ description: String, sequence: UInt64) -> Caravan_Node_V1_UpdateAllocationStatusRequest {
        var status = Caravan_Node_V1_AllocationStatus()
        status.allocationID = allocation
        status.clientStatus = ClientStatus.running.rawValue
        status.clientDescription = description
        status.sequence = sequence
        var request = Caravan_Node_V1_UpdateAllocationStatusRequest()
        request.nodeID = "streaming"
        request.statuses = [status]
        return request
    }

    /// Sends `batches` on one stream; returns the numbers the server answered with.
    static func send(_ batches: [Caravan_Node_V1_UpdateAllocationStatusRequest], to server: ServerProcess) async throws -> [UInt64] {
        var options = CallOptions.defaults
        options.timeout = .seconds(20)
        return try await server.connection.node.streamAllocationStatus(options: options, requestProducer: { writer in
            for batch in batches { try await writer.write(batch) }
        }, onResponse: { response in
            try await response.messages.reduce(into: []) { $0.append($1.lastSequence) }
        })
    }

    @Test func anOlderBatchThatCommitsLaterDoesNotUndoANewerOne() async throws {
        try await withCluster(size: 1, durable: false) { cluster in
            let server = try await cluster.leader()
            let node = try await NodeWatchTests.registerNode("streaming", with: server)
            try await cluster.register("streamed-job", through: server)
            let allocation = try #require(try await NodeWatchTests.firstAssignment(server, node: node.id, packed: true)).allocationID

            // The newer report first, then the older, as batches sent at once may commit.
            let answered = try await Self.send([Self.status(allocation, "newer", sequence: 2), Self.status(allocation, "older", sequence: 1)], to: server)
            #expect(answered.sorted() == [1, 2], "each batch is answered with its last number")
            var request = Caravan_Api_V1_ListAllocationsRequest()
            request.jobID = "streamed-job"
            let listed = try await server.connection.allocations.list(request).allocations
            #expect(listed.map(\.clientDescription) == ["newer"])
            #expect(listed.map(\.clientStatus) == ["running"])
        }
    }

    @Test func anUnnumberedStatusOnAStreamIsRefusedByName() async throws {
        try await withCluster(size: 1, durable: false) { cluster in
            let server = try await cluster.leader()
            do {
                _ = try await Self.send([Self.status("a-1", "unnumbered", sequence: 0)], to: server)
                Issue.record("an unnumbered status was accepted")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument)
                #expect(error.message.contains("a-1") && error.message.contains("sequence number"), "\(error.message)")
            }
        }
    }
}
