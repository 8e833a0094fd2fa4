import Testing
@testable import RaftCore

/// Leadership transfer (§3.10 of the dissertation) and linearizable reads (§6.4).
@Suite struct TransferAndReadTests {
    @Test func transferToAnUpToDateFollower() throws {
        var c = TestCluster(voters: 3)
        c.elect(1)
        try c[1].transferLeadership(to: 3)
        c.stabilize()
        #expect(c.leaders == [3])
        #expect(c[3].term == 3)
    }

    @Test func transferToALaggingFollowerCatchesItUpFirst() throws {
        var c = TestCluster(voters: 3)
        c.elect(1)
        c.isolated = [3]
        for i in 0..<5 { _ = try c[1].propose([UInt8(i)]) }
        c.stabilize()
        c.isolated = []
        try c[1].transferLeadership(to: 3)
        #expect(throws: RaftError.leadershipTransferInProgress(to: 3)) { try c[1].propose([9]) }
        c.stabilize()
        #expect(c.leaders == [3])
        #expect(c.appliedData(3).count == 5)
    }

    @Test func transferWithoutATargetPicksTheMostUpToDateVoter() throws {
        var c = TestCluster(voters: 3)
        c.elect(1)
        c.isolated = [2]
        _ = try c[1].propose([1])
        c.stabilize()
        c.isolated = []
        try c[1].transferLeadership()
        #expect(c[1].leadTransferee == 3)
    }

    @Test func anUnreachableTargetAbortsAfterAnElectionTimeout() throws {
        var c = TestCluster(voters: 3)
        c.elect(1)
        c.isolated = [3]
        try c[1].transferLeadership(to: 3)
        for _ in 0..<c[1].config.electionTick { c[1].tick() }
        #expect(c[1].leadTransferee == 0)
        #expect(c[1].role == .leader)
        _ = try c[1].propose([1])
    }

    @Test func readIndexWaitsForAQuorumHeartbeat() throws {
        var c = TestCluster(voters: 3)
        c.elect(1)
        c.isolated = [2, 3]
        try c[1].readIndex(context: [1])
        c.stabilize()
        #expect(c.readStates[1, default: []].isEmpty, "no quorum confirmed leadership")
        c.isolated = []
        c.tickAll(1)
        #expect(c.readStates[1] == [ReadState(index: c[1].commitIndex, context: [1])])
    }

    @Test func aFollowersReadIsServedThroughTheLeader() throws {
        var c = TestCluster(voters: 3)
        c.elect(1)
        _ = try c[1].propose([1])
        c.stabilize()
        try c[2].readIndex(context: [7])
        c.stabilize()
        #expect(c.readStates[2] == [ReadState(index: c[1].commitIndex, context: [7])])
    }

    @Test func leaseReadsAnswerWithoutARoundTrip() throws {
        var c = TestCluster(voters: 3) { $0.readOnlyOption = .leaseBased }
        c.elect(1)
        // Voters know the leader only once it is heard from: the lease starts with acknowledged heartbeats.
        c.tickAll(c[1].config.heartbeatTick)
        c.isolated = [2, 3]
        try c[1].readIndex(context: [3])
        c.flush()
        #expect(c.readStates[1]?.count == 1)
    }

    @Test func aLeaseEndsAnElectionTimeoutAfterTheHeartbeatsAQuorumLastAcknowledged() throws {
        var c = TestCluster(voters: 3) { $0.readOnlyOption = .leaseBased }
        c.elect(1)
        c.tickAll(c[1].config.heartbeatTick)
        c.isolated = [2, 3]
        // Followers would vote for another once an election timeout passed
        // without a word from the leader, however long the leader keeps its role.
        for _ in 0..<(c[1].config.electionTick - 1) { c[1].tick() }
        c.flush()
        try c[1].readIndex(context: [4])
        c.flush()
        #expect(c.readStates[1, default: []].isEmpty, "no quorum confirms a leader whose lease ran out")
    }

    @Test func aTransferEndsTheLease() throws {
        var c = TestCluster(voters: 3) { $0.readOnlyOption = .leaseBased }
        c.elect(1)
        c.tickAll(c[1].config.heartbeatTick)
        try c[1].transferLeadership(to: 2)  // up to date: told to campaign at once
        c.isolated = [2, 3]
        c.flush()
        try c[1].readIndex(context: [5])
        c.flush()
        #expect(c.readStates[1, default: []].isEmpty, "the target is elected regardless of leases")
    }

    @Test func readsWaitForTheLeadersFirstCommit() throws {
        var c = TestCluster(voters: 3)
        c[1].campaign()
        c.flush()
        for _ in 0..<4 {
            let pending = c.outbox
            c.outbox.removeAll()
            for m in pending where m.type != .append { c[m.to].step(m) }
            c.flush()
        }
        #expect(c[1].role == .leader)
        try c[1].readIndex(context: [5])
        c.outbox.removeAll()
        c.flush()
        #expect(c.readStates[1, default: []].isEmpty)
        c.tickAll(2)
        #expect(c.readStates[1]?.first?.index == c[1].commitIndex)
    }

    @Test func aReadWithNoLeaderKnownIsRefused() {
        var c = TestCluster(voters: 3)
        #expect(throws: RaftError.notLeader(leader: 0)) { try c[2].readIndex(context: [1]) }
    }
}
