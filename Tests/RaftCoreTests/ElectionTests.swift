import Testing
@testable import RaftCore

/// §5.1–5.2 and §9.6 of the Raft paper and dissertation: terms, elections, PreVote, CheckQuorum.
@Suite struct ElectionTests {
    @Test func aCampaignWinsWithAMajorityAndAppendsAnEmptyEntry() {
        var c = TestCluster(voters: 3)
        c.elect(1)
        #expect(c.leaders == [1])
        #expect(c[1].term == 2)
        #expect(c[2].leader == 1 && c[3].leader == 1)
        // The new term's empty entry commits, and with it everything before (§5.4.2).
        let last = c[1].lastIndex
        #expect(c[1].log.termOrZero(last) == 2)
        #expect(c[1].commitIndex == last)
    }

    @Test func electionTimeoutsAreRandomizedWithinOneToTwoElectionTicks() {
        var timeouts: Set<Int> = []
        for seed in 0..<50 as Range<UInt64> {
            var config = RaftConfig(id: 1, seed: seed)
            config.electionTick = 10
            let node = try! RaftNode(config: config, storage: MemoryStorage(bootstrapping: [1, 2, 3]))
            #expect((10..<20).contains(node.randomizedElectionTimeout))
            timeouts.insert(node.randomizedElectionTimeout)
        }
        #expect(timeouts.count > 3)
    }

    @Test func aFollowerCampaignsAfterItsElectionTimeout() {
        var c = TestCluster(voters: 3)
        let timeout = c[1].randomizedElectionTimeout
        for _ in 0..<(timeout - 1) { c[1].tick() }
        #expect(c[1].role == .follower)
        c[1].tick()
        #expect(c[1].role == .preCandidate)
    }

    @Test func aVoterGrantsAtMostOneVotePerTerm() {
        var c = TestCluster(voters: 3) { $0.preVote = false; $0.checkQuorum = false }
        c.stabilize()
        let vote = { (from: NodeID) in Message(type: .vote, from: from, to: 3, term: 5, logTerm: 1, index: 3) }
        c[3].step(vote(1))
        c[3].step(vote(2))
        c.flush()
        let answers = c.outbox.filter { $0.type == .voteResponse }
        #expect(answers.map(\.to) == [1, 2])
        #expect(answers.map(\.reject) == [false, true])
        #expect(c[3].vote == 1)
    }

    @Test func aCandidateWithAStaleLogLoses() {
        // §5.4.1: a vote goes only to a candidate whose log is at least as up to date.
        var c = TestCluster(voters: 3)
        c.elect(1)
        c.isolated = [3]
        _ = try! c[1].propose([1])
        c.stabilize()
        c.isolated = []
        c[3].campaign()  // pre-vote: 1 and 2 hold a newer log
        c.stabilize()
        #expect(c[3].role != .leader)
        #expect(c.leaders == [1])
    }

    @Test func preVoteKeepsAnIsolatedNodeFromInflatingItsTerm() {
        var c = TestCluster(voters: 3)
        c.elect(1)
        c.isolated = [3]
        for _ in 0..<100 { c[3].tick() }
        c.stabilize()
        #expect(c[3].term == 2, "pre-candidates do not raise their term")
        c.isolated = []
        c.tickAll(3)
        #expect(c.leaders == [1] && c[1].term == 2, "the rejoining node did not disrupt the leader")
    }

    @Test func withoutPreVoteAnIsolatedNodeDisruptsOnReturn() {
        var c = TestCluster(voters: 3) { $0.preVote = false; $0.checkQuorum = false }
        c.elect(1)
        c.isolated = [3]
        for _ in 0..<100 { c[3].tick() }
        #expect(c[3].term > 2)
        c.isolated = []
        c.tickAll(1)
        #expect(c[1].term > 2, "the higher term deposed the leader: the problem PreVote solves")
    }

    @Test func checkQuorumMakesAnIsolatedLeaderStepDown() {
        var c = TestCluster(voters: 3)
        c.elect(1)
        c.isolated = [1]
        for _ in 0..<(2 * c[1].config.electionTick) { c[1].tick() }
        #expect(c[1].role == .follower)
    }

    @Test func votersInALeaseIgnoreCampaigns() {
        var c = TestCluster(voters: 3) { $0.preVote = false }
        c.elect(1)
        // Node 3 campaigns at a higher term while 2 still hears from leader 1.
        c[2].step(Message(type: .vote, from: 3, to: 2, term: 10, logTerm: 2, index: 100))
        c.flush()
        #expect(c[2].term == 2)
        #expect(!c.outbox.contains { $0.type == .voteResponse && $0.from == 2 })
    }

    @Test func aStaleLeaderLearnsTheNewTermAndStepsDown() {
        var c = TestCluster(voters: 3)
        c.elect(1)
        c.isolated = [1]
        for _ in 0..<30 { c[2].tick(); c[3].tick(); c.stabilize() }
        let newLeader = c.leaders.first { $0 != 1 }
        #expect(newLeader != nil)
        c.isolated = []
        c[1].tick()  // heartbeat at the old term, answered with the new one
        c.stabilize()
        #expect(c[1].role == .follower && c[1].term == c[newLeader!].term)
        c.tickAll(1)
        #expect(c[1].leader == newLeader)
    }
}
