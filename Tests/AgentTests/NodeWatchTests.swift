import API
import Foundation
import GRPCCore
import Model
import Testing
import Transport

/// The node allocation watch as a node of any version sees it.
struct NodeWatchTests {
    /// The first update of a watch of `node` that assigns it anything.
    static func firstAssignment(_ server: ServerProcess, node: NodeID, packed: Bool) async throws -> Caravan_Node_V1_AllocationAssignment? {
        var request = Caravan_Node_V1_WatchAllocationsRequest()
        request.nodeID = node.rawValue
        request.packed = packed
        var options = CallOptions.defaults
        options.timeout = .seconds(20)
        return try await server.connection.node.watchAllocations(request, options: options) { response in
            for try await update in response.messages {
                if let assignment = update.allocations.first { return assignment }
            }
            return nil
        }
    }

    /// Registers a ready Linux node `id` with room for a job, as a node would.
    static func registerNode(_ id: NodeID, with server: ServerProcess) async throws -> Node {
        let node = Node(id: id, status: .ready, attributes: ["kernel.name": "linux"],
                        resources: NodeResources(cpu: 4000, cores: 4, memoryMB: 8192, diskMB: 10_000),
                        drivers: ["exec": DriverInfo()])
        _ = try await server.connection.node.register(Caravan_Node_V1_RegisterRequest(node, version: "0.1.0"))
        return node
    }

    @Test func aNodeThatAsksGetsPackedAssignmentsAndOneFromBeforeGetsJSON() async throws {
        try await withCluster(size: 1, durable: false) { cluster in
            let server = try await cluster.leader()
            let node = try await Self.registerNode("watched", with: server)
            try await cluster.register("watched-job", through: server)

            let packed = try #require(try await Self.firstAssignment(server, node: node.id, packed: true))
            #expect(packed.allocationJson.isEmpty && packed.jobJson.isEmpty)
            let json = try #require(try await Self.firstAssignment(server, node: node.id, packed: false))
            #expect(json.allocationPacked.isEmpty && json.jobPacked.isEmpty)

            let fromPacked = try Packed.decode(Allocation.self, from: [UInt8](packed.allocationPacked))
            let fromJSON = try WireJSON.decode(Allocation.self, from: json.allocationJson)
            #expect(fromPacked == fromJSON)
            #expect(fromPacked.nodeID == node.id)
            let jobFromPacked = try Packed.decode(Job.self, from: [UInt8](packed.jobPacked))
            #expect(jobFromPacked == (try WireJSON.decode(Job.self, from: json.jobJson)))
            #expect(jobFromPacked.spec.id == "watched-job")
        }
    }
}
