import API
import Foundation
import GRPCCore
import Testing
import Transport

/// The operator's drain and Raft-log controls against real `caravand server`
/// processes on 127.0.0.1. Serialized for the reason ServerClusterTests is.
@Suite(.serialized) struct OperatorControlTests {
    @Test func drainingTheLeaderMovesLeadershipAndDemotesItUntilUndrained() async throws {
        try await withCluster(size: 3, durable: false) { cluster in
            let leader = try await cluster.leader()
            let leaderID = try #require(await leader.status()).nodeID
            // Asked of a follower: it forwards to the leader, which hands its leadership away.
            let asked = cluster.followers(of: leader)[0]
            let drained = try await drain(leaderID, through: asked)
            #expect(!drained.voter)
            #expect(drained.leaderID != leaderID && drained.leaderID != 0)

            let next = try await cluster.leader()
            #expect(next !== leader)
            let peers = try await next.connection.operatorControls.listRaftPeers(Caravan_Api_V1_ListRaftPeersRequest(), options: ServerProcess.quick)
            #expect(peers.peers.first { $0.id == leaderID }?.voter == false, "\(peers)")
            #expect(peers.peers.filter(\.voter).count == 2, "\(peers)")

            // Two voters remain: a write through the drained server is acknowledged.
            let registered = try await cluster.register("after-drain", through: leader)
            #expect(registered.meta.index > 0)
            try await eventually("the drained server still receives the log") {
                try await cluster.jobIDs(on: leader, stale: true).contains("after-drain")
            }
            // The new leader's log says what happened.
            let log = try await readLog(next, from: 0, limit: 50)
            #expect(log.entries.contains { $0.kind == "conf-change" && $0.summary == "make \(leaderID) a learner" }, "\(log.entries.map(\.summary))")

            // A retried drain is a success that changes nothing.
            let again = try await drain(leaderID, through: next)
            #expect(!again.voter)

            let undrained = try await drain(leaderID, through: leader, disable: true)
            #expect(undrained.voter)
            try await eventually("the undrained server votes again") {
                let peers = try await next.connection.operatorControls.listRaftPeers(Caravan_Api_V1_ListRaftPeersRequest(), options: ServerProcess.quick)
                return peers.peers.filter(\.voter).count == 3
            }
        }
    }

    @Test func drainingAnUnknownServerOrTheLastVoterIsRefused() async throws {
        try await withCluster(size: 3, durable: false) { cluster in
            let leader = try await cluster.leader()
            let followers = cluster.followers(of: leader)

            let unknown = await #expect(throws: RPCError.self) { try await drain(99, through: followers[0]) }
            #expect(unknown?.code == .notFound)
            #expect(unknown?.message.contains("server 99 is not a member") == true, "\(unknown?.message ?? "")")

            for follower in followers {
                let id = try #require(await follower.status()).nodeID
                #expect(try await drain(id, through: leader).voter == false)
            }
            let leaderID = try #require(await leader.status()).nodeID
            let last = await #expect(throws: RPCError.self) { try await drain(leaderID, through: followers[1]) }
            #expect(last?.code == .failedPrecondition)
            #expect(last?.message.contains("server \(leaderID) is the only voter") == true, "\(last?.message ?? "")")

            // Nothing changed: the leader still leads and votes alone.
            let peers = try await leader.connection.operatorControls.listRaftPeers(Caravan_Api_V1_ListRaftPeersRequest(), options: ServerProcess.quick)
            #expect(peers.peers.filter(\.voter).map(\.id) == [leaderID], "\(peers)")
            #expect(peers.peers.first { $0.id == leaderID }?.leader == true, "\(peers)")
            // Undraining a voter is a retry that changes nothing.
            #expect(try await drain(leaderID, through: leader, disable: true).voter)
        }
    }

    @Test func theRaftLogShowsEachServersEntriesWithSummaries() async throws {
        try await withCluster(size: 1, durable: false, extra: ["--snapshot-every", "20"]) { cluster in
            let server = try await cluster.leader()
            try await cluster.register("log-me", through: server)
            // The log is still once the scheduler's plan for the job (nowhere to place it) is in.
            try await eventually("the job's evaluation completed") {
                try await readLog(server, from: 0, limit: 1).entries.last?.summary.hasSuffix("eval complete") == true
            }

            let recent = try await readLog(server, from: 0, limit: 0)
            let serverID = try #require(await server.status()).nodeID
            #expect(recent.serverID == serverID)
            #expect(!recent.entries.isEmpty)
            #expect(recent.entries.last?.index == recent.lastIndex)
            #expect(zip(recent.entries, recent.entries.dropFirst()).allSatisfy { $0.index + 1 == $1.index }, "contiguous")
            #expect(recent.commitIndex > 0 && recent.commitIndex <= recent.lastIndex)
            let registration = try #require(recent.entries.first { $0.summary.hasPrefix("register job default/log-me (eval ") }, "\(recent.entries.map(\.summary))")
            #expect(registration.kind == "normal")
            #expect(registration.size > 0)

            let lastTwo = try await readLog(server, from: 0, limit: 2)
            #expect(lastTwo.entries.map(\.index) == [recent.lastIndex - 1, recent.lastIndex])
            let firstTwo = try await readLog(server, from: recent.firstIndex, limit: 2)
            #expect(firstTwo.entries.map(\.index) == [recent.firstIndex, recent.firstIndex + 1])
            let beyond = try await readLog(server, from: recent.lastIndex + 1, limit: 10)
            #expect(beyond.entries.isEmpty)

            // Once a snapshot compacted the log, an index before it starts at the first retained one.
            for i in 0..<25 { try await cluster.register("more-\(i)", through: server) }
            try await eventually("a snapshot compacted the log") {
                try await readLog(server, from: 0, limit: 1).firstIndex > 1
            }
            let compacted = try await readLog(server, from: 1, limit: 3)
            #expect(compacted.entries.first?.index == compacted.firstIndex)
            #expect(compacted.entries.count == 3)
        }
    }

    private func drain(_ id: UInt64, through server: ServerProcess, disable: Bool = false) async throws -> Caravan_Api_V1_DrainServerResponse {
        var request = Caravan_Api_V1_DrainServerRequest()
        request.id = id
        request.disable = disable
        var options = ServerProcess.quick
        // A drain of the leader waits for an election: allow a slow, shared machine more than the usual 2 s.
        options.timeout = .seconds(10)
        return try await server.connection.operatorControls.drainServer(request, options: options)
    }

    private func readLog(_ server: ServerProcess, from: UInt64, limit: UInt32) async throws -> Caravan_Api_V1_ReadRaftLogResponse {
        var request = Caravan_Api_V1_ReadRaftLogRequest()
        request.fromIndex = from
        request.limit = limit
        return try await server.connection.operatorControls.readRaftLog(request, options: ServerProcess.quick)
    }
}
