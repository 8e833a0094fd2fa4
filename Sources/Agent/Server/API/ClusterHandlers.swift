import API
import GRPCCore
import RaftCore
import Transport

/// Names and addresses of the servers, as the running server knows them.
struct MemberDirectory: Sendable {
    let localID: UInt64
    let localName: String
    let region: String
    let address: @Sendable (UInt64) -> PeerAddress?
    let name: @Sendable (UInt64) -> String
}

/// The `Cluster` gRPC service: members, leader and Raft status.
struct ClusterHandler: Caravan_Api_V1_Cluster.SimpleServiceProtocol {
    let plane: ControlPlane
    let members: MemberDirectory

    func members(request: Caravan_Api_V1_ListMembersRequest, context: ServerContext) async throws -> Caravan_Api_V1_ListMembersResponse {
        let status = await plane.driver.status
        var response = Caravan_Api_V1_ListMembersResponse()
        for id in (status.voters + status.learners).sorted() {
            response.members.append(member(id, status: status))
        }
        return response
    }

    func leader(request: Caravan_Api_V1_GetLeaderRequest, context: ServerContext) async throws -> Caravan_Api_V1_GetLeaderResponse {
        let status = await plane.driver.status
        var response = Caravan_Api_V1_GetLeaderResponse()
        if status.leader != 0 { response.leader = member(status.leader, status: status) }
        return response
    }

    func status(request: Caravan_Api_V1_GetStatusRequest, context: ServerContext) async throws -> Caravan_Api_V1_GetStatusResponse {
        let status = await plane.driver.status
        var response = Caravan_Api_V1_GetStatusResponse()
        response.region = members.region
        response.term = status.term
        response.commitIndex = status.commitIndex
        response.appliedIndex = status.appliedIndex
        response.lastLogIndex = status.lastIndex
        response.leaderID = status.leader
        response.nodeID = status.id
        response.role = status.role.wireName
        response.snapshotIndex = status.snapshotIndex
        return response
    }

    private func member(_ id: UInt64, status: RaftDriver<ServerStateMachine>.Status) -> Caravan_Api_V1_ServerMember {
        var m = Caravan_Api_V1_ServerMember()
        m.id = id
        m.name = members.name(id)
        m.address = members.address(id)?.description ?? ""
        m.region = members.region
        m.status = "alive"
        m.leader = id == status.leader
        m.voter = status.voters.contains(id)
        return m
    }
}

/// The `Operator` gRPC service: the Raft group's membership and leadership.
struct OperatorHandler: Caravan_Api_V1_Operator.SimpleServiceProtocol {
    let plane: ControlPlane
    let router: LeaderRouter
    let members: MemberDirectory
    let authorizer: PeerAuthorizer

    func listRaftPeers(request: Caravan_Api_V1_ListRaftPeersRequest, context: ServerContext) async throws -> Caravan_Api_V1_ListRaftPeersResponse {
        _ = try authorizer.authorize(context)
        let status = await plane.driver.status
        let progress = await plane.driver.replicationProgress
        var response = Caravan_Api_V1_ListRaftPeersResponse()
        for id in (status.voters + status.learners).sorted() {
            var peer = Caravan_Api_V1_RaftPeer()
            peer.id = id
            peer.address = members.address(id)?.description ?? ""
            peer.voter = status.voters.contains(id)
            peer.leader = id == status.leader
            peer.matchIndex = id == status.id ? status.lastIndex : progress[id] ?? 0
            response.peers.append(peer)
        }
        return response
    }

    func addRaftPeer(request: Caravan_Api_V1_AddRaftPeerRequest, context: ServerContext) async throws -> Caravan_Api_V1_AddRaftPeerResponse {
        _ = try authorizer.authorize(context)
        guard request.id != 0 else { throw RPCError(code: .invalidArgument, message: "id: must be a non-zero Raft node id") }
        guard PeerAddress(request.address) != nil else {
            throw RPCError(code: .invalidArgument, message: "address: \"\(request.address)\" is not host:port")
        }
        let member = MemberDescription(id: request.id, name: request.name.isEmpty ? "server-\(request.id)" : request.name, address: request.address)
        let change = ConfChange(request.learner ? .addLearner : .addVoter, request.id, context: ServerStateMachine.context(for: member))
        return try await router.write({ () throws(ControlPlaneError) in
            let status = try await plane.leaderStatus()
            if status.voters.contains(request.id) && !request.learner || status.learners.contains(request.id) && request.learner {
                // Already a member in that role: a retried join.
                var response = Caravan_Api_V1_AddRaftPeerResponse()
                response.meta.index = status.appliedIndex
                return response
            }
            try await changeMembership(change)
            var response = Caravan_Api_V1_AddRaftPeerResponse()
            response.meta.index = await plane.driver.status.appliedIndex
            return response
        }, forward: { try await $0.operatorControls.addRaftPeer(request) })
    }

    func removeRaftPeer(request: Caravan_Api_V1_RemoveRaftPeerRequest, context: ServerContext) async throws -> Caravan_Api_V1_RemoveRaftPeerResponse {
        _ = try authorizer.authorize(context)
        return try await router.write({ () throws(ControlPlaneError) in
            let status = try await plane.leaderStatus()
            guard status.voters.contains(request.id) || status.learners.contains(request.id) else {
                throw .notFound("server \(request.id) is not a member of the Raft group")
            }
            try await changeMembership(ConfChange(.removeNode, request.id))
            var response = Caravan_Api_V1_RemoveRaftPeerResponse()
            response.meta.index = await plane.driver.status.appliedIndex
            return response
        }, forward: { try await $0.operatorControls.removeRaftPeer(request) })
    }

    func transferLeadership(request: Caravan_Api_V1_TransferLeadershipRequest, context: ServerContext) async throws -> Caravan_Api_V1_TransferLeadershipResponse {
        _ = try authorizer.authorize(context)
        return try await router.write({ () throws(ControlPlaneError) in
            let before = try await plane.leaderStatus()
            var response = Caravan_Api_V1_TransferLeadershipResponse()
            response.newLeaderID = try await handOverLeadership(from: before, to: request.targetID == 0 ? nil : request.targetID)
            return response
        }, forward: { try await $0.operatorControls.transferLeadership(request) })
    }

    func drainServer(request: Caravan_Api_V1_DrainServerRequest, context: ServerContext) async throws -> Caravan_Api_V1_DrainServerResponse {
        _ = try authorizer.authorize(context)
        return try await router.write({ () throws(ControlPlaneError) in
            let id = request.id
            _ = try await plane.leaderStatus()
            // A new leader takes no membership change before it has committed
            // an entry of its term: the barrier waits for that (and for the
            // latest configuration to commit) so the change is not refused.
            _ = try await plane.read(stale: false)
            let status = try await plane.leaderStatus()
            guard status.voters.contains(id) || status.learners.contains(id) else {
                throw .notFound("server \(id) is not a member of the Raft group; members: \((status.voters + status.learners).sorted().map(String.init).joined(separator: ", "))")
            }
            let wanted: ConfChange.ChangeType = request.disable ? .addVoter : .addLearner
            let done = request.disable ? status.voters.contains(id) : status.learners.contains(id)
            if !done {
                if !request.disable && status.voters == [id] {
                    throw .failedPrecondition("server \(id) is the only voter: without its vote no server could elect a leader or commit a write; add or undrain another voter first")
                }
                if !request.disable && id == status.id {
                    // Hand leadership away first, so that the demotion is proposed by a
                    // leader that stays; the new leader then demotes this server.
                    let next = try await handOverLeadership(from: status, to: nil)
                    guard next != id else {
                        throw .unavailable("server \(id) could not hand its leadership to another voter; retry the drain")
                    }
                    throw .notLeader(leader: next)
                }
                try await changeMembership(ConfChange(wanted, id))
            }
            let after = await plane.driver.status
            var response = Caravan_Api_V1_DrainServerResponse()
            response.meta.index = after.appliedIndex
            response.leaderID = after.leader
            response.voter = after.voters.contains(id)
            return response
        }, forward: { try await $0.operatorControls.drainServer(request) })
    }

    func readRaftLog(request: Caravan_Api_V1_ReadRaftLogRequest, context: ServerContext) async throws -> Caravan_Api_V1_ReadRaftLogResponse {
        _ = try authorizer.authorize(context)
        let limit = request.limit == 0 ? 100 : min(Int(request.limit), 1000)
        let window: RaftDriver<ServerStateMachine>.LogWindow
        do {
            window = try await plane.driver.storedLog(from: request.fromIndex, limit: limit)
        } catch {
            throw ControlPlane.translate(error).rpcError
        }
        var response = Caravan_Api_V1_ReadRaftLogResponse()
        response.firstIndex = window.firstIndex
        response.lastIndex = window.lastIndex
        response.commitIndex = window.commitIndex
        response.serverID = members.localID
        response.entries = window.entries.map { entry in
            var wire = Caravan_Api_V1_RaftLogEntry()
            wire.index = entry.index
            wire.term = entry.term
            wire.kind = entry.kind == .confChange ? "conf-change" : "normal"
            wire.size = UInt64(entry.data.count)
            wire.summary = ServerCommand.summary(of: entry)
            return wire
        }
        return response
    }

    /// Starts handing this server's leadership (as `before` saw it) to
    /// `target`, or to the most up-to-date other voter, and waits until
    /// another server leads or a later term began; returns who leads then.
    private func handOverLeadership(
        from before: RaftDriver<ServerStateMachine>.Status, to target: UInt64?
    ) async throws(ControlPlaneError) -> UInt64 {
        var seen = await plane.driver.leadership(after: -1)?.version ?? 0
        do {
            try await plane.driver.transferLeadership(to: target)
        } catch {
            throw ControlPlane.translate(error)
        }
        // RaftCore aborts a transfer after an election timeout, and the
        // leadership then changes back or on; either way this returns.
        while let (now, version) = await plane.driver.leadership(after: seen) {
            seen = version
            if now.leader != 0 && now.term > before.term || now.leader != before.id && now.leader != 0 {
                return now.leader
            }
        }
        throw .unavailable("the server stopped during the transfer")
    }

    private func changeMembership(_ change: ConfChange) async throws(ControlPlaneError) {
        do {
            try await plane.driver.changeMembership(change)
        } catch {
            throw ControlPlane.translate(error)
        }
    }
}

extension RaftRole {
    var wireName: String {
        switch self {
        case .leader: "leader"
        case .follower: "follower"
        case .candidate: "candidate"
        case .preCandidate: "pre-candidate"
        }
    }
}
