import Testing
@testable import RaftCore

/// §6 (single-server changes, learners) of the dissertation.
@Suite struct MembershipTests {
    /// A cluster of `voters` with `extra` joining: new, empty nodes.
    static func cluster(voters: Int) -> TestCluster {
        var c = TestCluster(voters: voters)
        c.elect(1)
        return c
    }

    @Test func aLearnerReceivesTheLogButNeitherVotesNorCounts() throws {
        var c = Self.cluster(voters: 3)
        c.add(4, storage: MemoryStorage())
        try c[1].proposeConfChange(ConfChange(.addLearner, 4))
        _ = try c[1].propose([1])
        c.stabilize()
        #expect(c[4].confState.learners == [4])
        #expect(c.appliedData(4) == [[1]])
        // It never campaigns.
        for _ in 0..<100 { c[4].tick() }
        #expect(c[4].role == .follower)
        // Its acknowledgement alone does not make a quorum.
        c.isolated = [2, 3]
        let position = try c[1].propose([2])
        c.stabilize()
        #expect(c[1].commitIndex < position.index)
    }

    @Test func aPromotedLearnerVotesAndCounts() throws {
        var c = Self.cluster(voters: 3)
        c.add(4, storage: MemoryStorage())
        try c[1].proposeConfChange(ConfChange(.addLearner, 4))
        c.stabilize()
        try c[1].proposeConfChange(ConfChange(.addVoter, 4))
        c.stabilize()
        #expect(c[1].confState.voters == [1, 2, 3, 4])
        #expect(c[4].confState.voters == [1, 2, 3, 4])
        c.isolated = [3]
        let position = try c[1].propose([3])
        c.stabilize()
        #expect(c[1].commitIndex >= position.index, "1, 2 and 4 are three of four voters")
    }

    @Test func onlyOneChangeMayBeUncommitted() throws {
        var c = Self.cluster(voters: 3)
        c.isolated = [2, 3]
        try c[1].proposeConfChange(ConfChange(.addLearner, 4))
        #expect(throws: RaftError.confChangeInProgress) {
            try c[1].proposeConfChange(ConfChange(.addLearner, 5))
        }
    }

    @Test func aNewLeaderChangesNothingBeforeCommittingInItsTerm() throws {
        var c = TestCluster(voters: 3)
        c[1].campaign()
        c.flush()
        // Deliver only the votes, so 1 leads without its empty entry committed.
        for _ in 0..<4 {
            let pending = c.outbox
            c.outbox.removeAll()
            for m in pending where m.type != .append { c[m.to].step(m) }
            c.flush()
        }
        #expect(c[1].role == .leader)
        #expect(throws: RaftError.confChangeInProgress) {
            try c[1].proposeConfChange(ConfChange(.removeNode, 3))
        }
        c.outbox.removeAll()
        c.tickAll(1)
        try c[1].proposeConfChange(ConfChange(.removeNode, 3))
    }

    @Test func aRemovedLeaderStepsDownOnceItsRemovalCommits() throws {
        var c = Self.cluster(voters: 3)
        try c[1].proposeConfChange(ConfChange(.removeNode, 1))
        c.stabilize()
        #expect(c[1].role == .follower)
        #expect(c[2].confState.voters == [2, 3])
        // The other two elect a leader among themselves.
        for _ in 0..<40 { c[2].tick(); c[3].tick(); c.stabilize() }
        #expect(c.leaders.count == 1 && c.leaders[0] != 1)
        let leader = c.leaders[0]
        _ = try c[leader].propose([4])
        c.stabilize()
        #expect(c.appliedData(leader == 2 ? 3 : 2).last == [4])
    }

    @Test func removingAMemberShrinksTheQuorum() throws {
        var c = Self.cluster(voters: 5)
        try c[1].proposeConfChange(ConfChange(.removeNode, 5))
        c.stabilize()
        try c[1].proposeConfChange(ConfChange(.removeNode, 4))
        c.stabilize()
        c.isolated = [2, 3]
        let position = try c[1].propose([1])
        c.stabilize()
        #expect(c[1].commitIndex < position.index, "1 alone is not a majority of 1, 2, 3")
        c.isolated = [3, 4, 5]
        c.tickAll(1)
        #expect(c[1].commitIndex >= position.index, "1 and 2 are a majority of 1, 2, 3 (not of five)")
    }

    @Test func invalidChangesAreRefused() {
        var c = Self.cluster(voters: 1)
        #expect(throws: RaftError.unknownNode(9)) { try c[1].proposeConfChange(ConfChange(.removeNode, 9)) }
        #expect(throws: RaftError.invalidConfChange) { try c[1].proposeConfChange(ConfChange(.removeNode, 1)) }
        #expect(throws: RaftError.invalidConfChange) { try c[1].proposeConfChange(ConfChange(.addVoter, 0)) }
    }

    @Test func aRestartedNodeReplaysMembershipFromItsLog() throws {
        var c = Self.cluster(voters: 3)
        c.add(4, storage: MemoryStorage())
        try c[1].proposeConfChange(ConfChange(.addLearner, 4))
        c.stabilize()
        c.restart(4)
        #expect(c[4].confState == ConfState(voters: [1, 2, 3], learners: [4]))
    }

    @Test func aTruncatedChangeIsUndone() throws {
        var c = Self.cluster(voters: 3)
        c.isolated = [1]
        try c[1].proposeConfChange(ConfChange(.addLearner, 9))
        c.flush()
        c.outbox.removeAll()
        #expect(c[1].confState.learners == [9], "in force as soon as appended")
        c.isolated = []
        c.forceElect(2)
        _ = try c[2].propose([1])
        c.stabilize()
        #expect(c[1].confState.learners == [], "the entry was replaced, and its configuration with it")
    }
}
