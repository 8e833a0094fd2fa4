import Testing
@testable import RaftCore

/// Proposals a follower forwards to the leader over Raft (`proposeTagged`).
@Suite struct ForwardedProposalTests {
    /// The `.tagged` entries `id` applied, by data.
    static func tagged(_ c: TestCluster, _ id: NodeID) -> [Entry] {
        c.applied[id]!.filter { $0.kind == .tagged }
    }

    @Test func aFollowersProposalIsAppendedByTheLeaderInItsTermAndAppliedEverywhere() throws {
        var c = TestCluster(voters: 3)
        c.elect(1)
        try c[2].proposeTagged([7, 7, 1], context: [7])
        let delivered = c.stabilize()
        #expect(delivered.contains { $0.type == .propose && $0.from == 2 && $0.to == 1 && $0.term == c[1].term })
        for id: NodeID in [1, 2, 3] {
            let entries = Self.tagged(c, id)
            #expect(entries.map(\.data) == [[7, 7, 1]], "node \(id)")
            #expect(entries.first?.term == c[1].term)
        }
        #expect(c.refusedProposals[2, default: []].isEmpty)
    }

    @Test func theLeaderAppendsItsOwnTaggedProposal() throws {
        var c = TestCluster(voters: 3)
        c.elect(1)
        try c[1].proposeTagged([1, 2], context: [1])
        let delivered = c.stabilize()
        #expect(!delivered.contains { $0.type == .propose })
        #expect(Self.tagged(c, 3).map(\.data) == [[1, 2]])
    }

    @Test func withoutAKnownLeaderItIsRefusedAtOnce() throws {
        var c = TestCluster(voters: 3)
        #expect(throws: RaftError.notLeader(leader: 0)) { try c[2].proposeTagged([1], context: [1]) }
        c[2].campaign()
        #expect(throws: RaftError.notLeader(leader: 0)) { try c[2].proposeTagged([1], context: [1]) }
    }

    @Test func aLeaderHandingOverRefusesItAndNamesTheTarget() throws {
        var c = TestCluster(voters: 3)
        c.elect(1)
        // The target cannot catch up, so the transfer stays under way.
        c.isolated = [3]
        _ = try c[1].propose([0])
        c.stabilize()
        try c[1].transferLeadership(to: 3)
        try c[2].proposeTagged([5], context: [9, 9])
        c.stabilize()
        #expect(c.refusedProposals[2] == [RefusedProposal(context: [9, 9], reason: .leadershipTransferInProgress(to: 3))])
        #expect(Self.tagged(c, 2).isEmpty)
    }

    @Test func aLeaderOverItsUncommittedLimitRefusesIt() throws {
        var c = TestCluster(voters: 3) { $0.maxUncommittedBytes = 8 }
        c.elect(1)
        c.isolated = [2, 3]
        _ = try c[1].propose(Array(repeating: 1, count: 8))
        c.stabilize()
        c.isolated = [3]
        try c[2].proposeTagged([2, 2], context: [4])
        c.stabilize()
        #expect(c.refusedProposals[2] == [RefusedProposal(context: [4], reason: .proposalQueueFull(uncommittedBytes: 8, limit: 8))])
    }

    @Test func aProposalOfAnEndedTermIsNotAppendedByTheNextLeader() throws {
        var c = TestCluster(voters: 3)
        c.elect(1)
        let oldTerm = c[1].term
        try c[2].proposeTagged([3], context: [3])
        c.flush()
        let stale = c.outbox.filter { $0.type == .propose }
        c.outbox.removeAll { $0.type == .propose }
        c.forceElect(3)
        #expect(c[3].term > oldTerm)
        for m in stale { c[3].step(Message(type: m.type, from: m.from, to: 3, term: m.term, entries: m.entries, context: m.context)) }
        c.stabilize()
        #expect(Self.tagged(c, 2).isEmpty)
        #expect(c.refusedProposals[2, default: []].isEmpty, "a proposal of an ended term is dropped without a word")
    }
}
