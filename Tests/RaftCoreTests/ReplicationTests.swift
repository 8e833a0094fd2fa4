import Testing
@testable import RaftCore

/// §5.3–5.4: log replication, conflict resolution, commitment, and the
/// pipelining, batching and backpressure extensions.
@Suite struct ReplicationTests {
    @Test func proposalsCommitOnAMajorityAndApplyEverywhere() throws {
        var c = TestCluster(voters: 3)
        c.elect(1)
        let position = try c[1].propose([7])
        c.stabilize()
        #expect(c[1].commitIndex >= position.index)
        for id: NodeID in [1, 2, 3] { #expect(c.appliedData(id) == [[7]]) }
    }

    @Test func aMinorityCannotCommit() throws {
        var c = TestCluster(voters: 5)
        c.elect(1)
        c.isolated = [3, 4, 5]
        let position = try c[1].propose([9])
        c.stabilize()
        #expect(c[1].commitIndex < position.index)
        c.isolated = []
        c.tickAll(1)
        #expect(c[1].commitIndex >= position.index)
    }

    @Test func theLeaderOverwritesConflictingUncommittedEntries() throws {
        var c = TestCluster(voters: 3)
        c.elect(1)
        // Leader 1 appends entries only it holds, then loses leadership.
        c.isolated = [1]
        _ = try c[1].propose([0xAA])
        _ = try c[1].propose([0xAB])
        c.flush()
        c.outbox.removeAll()
        c.isolated = []
        c.forceElect(2)
        #expect(c.leaders == [2])
        _ = try c[2].propose([0xBB])
        c.stabilize()
        for id: NodeID in [1, 2, 3] { #expect(c.appliedData(id) == [[0xBB]]) }
        #expect(c[1].lastIndex == c[2].lastIndex)
    }

    @Test func fastBacktrackingSkipsADivergentTermInFewRoundTrips() throws {
        var c = TestCluster(voters: 3) { $0.maxEntriesPerMessage = 1000 }
        c.elect(1)
        // Node 1 appends 200 entries in term 2 that nobody else gets.
        c.isolated = [1]
        for i in 0..<200 { _ = try c[1].propose([UInt8(i & 0xff)]) }
        c.flush()
        c.outbox.removeAll()
        c.isolated = []
        // Node 2 leads term 3 and commits 50 entries with node 3.
        c.forceElect(2)
        for i in 0..<50 { _ = try c[2].propose([UInt8(i)]) }
        c.stabilize()
        // Node 1 rejoins: its 200 stale entries are replaced in a few round trips, not 200.
        c.tickAll(1)
        let rejections = c.stabilize().filter { $0.type == .appendResponse && $0.reject && $0.from == 1 }
        #expect(rejections.count <= 3)
        #expect(c[1].lastIndex == c[2].lastIndex)
        #expect(c.appliedData(1) == c.appliedData(2))
    }

    @Test func appendsArePipelinedUpToTheInflightWindow() throws {
        var c = TestCluster(voters: 3) { $0.maxInflightMessages = 3; $0.maxEntriesPerMessage = 1 }
        c.elect(1)
        for i in 0..<10 { _ = try c[1].propose([UInt8(i)]) }
        c.flush()
        let toTwo = c.outbox.filter { $0.type == .append && $0.to == 2 }
        #expect(toTwo.count == 3, "three appends in flight before any answer")
        c.stabilize()
        #expect(c.appliedData(2).count == 10)
    }

    @Test func appendsAreBatchedByCountAndBytes() throws {
        var c = TestCluster(voters: 2) { $0.maxEntriesPerMessage = 4; $0.maxSizePerMessage = 10_000; $0.maxInflightMessages = 100 }
        c.elect(1)
        _ = try c[1].propose(batch: (0..<10).map { [UInt8($0)] })
        c.flush()
        let counts = c.outbox.filter { $0.type == .append && $0.to == 2 }.map(\.entries.count)
        #expect(counts == [4, 4, 2])

        var d = TestCluster(voters: 2) { $0.maxEntriesPerMessage = 100; $0.maxSizePerMessage = 250; $0.maxInflightMessages = 100 }
        d.elect(1)
        _ = try d[1].propose(batch: (0..<6).map { _ in [UInt8](repeating: 1, count: 100) })
        d.flush()
        let sizes = d.outbox.filter { $0.type == .append && $0.to == 2 }.map(\.entries.count)
        #expect(sizes == [2, 2, 2], "each 124-byte entry: two fit in 250 bytes")
    }

    @Test func proposalsTogetherShareOneAppendMessage() throws {
        var c = TestCluster(voters: 3)
        c.elect(1)
        for i in 0..<50 { _ = try c[1].propose([UInt8(i)]) }
        c.flush()
        #expect(c.outbox.filter { $0.type == .append && $0.to == 2 }.count == 1)
    }

    @Test func aLeaderNeverCommitsAnEarlierTermsEntryByCountingReplicas() throws {
        // Figure 8: an entry of an earlier term on a majority is not committed
        // until an entry of the leader's own term is.
        var c = TestCluster(voters: 3)
        c.elect(1)  // term 2
        c.isolated = [3]
        let old = try c[1].propose([0x01])
        // Only the append to 2 goes out; 2 persists it but its answer is lost.
        c.flush()
        let toTwo = c.outbox.filter { $0.to == 2 && $0.type == .append }
        c.outbox.removeAll()
        for m in toTwo { c[2].step(m) }
        c.flush()
        c.outbox.removeAll()
        #expect(c[1].commitIndex < old.index)
        // Node 1 loses leadership; it wins term 4 again with 3's vote but must
        // not commit term 2's entry by counting 1 and 2 alone.
        c.isolated = []
        c[1].becomeFollower(term: 3, leader: 0)
        c[1].campaign(transfer: true)  // straight to a vote in term 4
        c.flush()
        let votes = c.outbox
        c.outbox.removeAll()
        for m in votes where m.to == 3 { c[3].step(m) }
        c.flush()
        let granted = c.outbox.filter { $0.type == .voteResponse && !$0.reject }
        c.outbox.removeAll()
        for m in granted { c[1].step(m) }
        #expect(c[1].role == .leader)
        // Until its own empty entry is acknowledged, nothing new is committed.
        let match = c[1].progress(of: 2)!.match
        #expect(match < old.index)
        c[1].step(Message(type: .appendResponse, from: 2, to: 1, term: c[1].term, index: old.index))
        #expect(c[1].commitIndex < old.index, "term 2's entry is on 1 and 2, yet not committed in term \(c[1].term)")
        c.stabilize()
        #expect(c[1].commitIndex == c[1].lastIndex)
    }

    @Test func backpressureRefusesProposalsBeyondTheUncommittedLimit() throws {
        var c = TestCluster(voters: 3) { $0.maxUncommittedBytes = 100 }
        c.elect(1)
        c.isolated = [2, 3]
        _ = try c[1].propose([UInt8](repeating: 0, count: 60))
        _ = try c[1].propose([UInt8](repeating: 0, count: 40))
        #expect(throws: RaftError.proposalQueueFull(uncommittedBytes: 100, limit: 100)) {
            try c[1].propose([1])
        }
        c.isolated = []
        c.tickAll(1)
        _ = try c[1].propose([1])  // committed entries freed the budget
    }

    @Test func proposingToAFollowerNamesTheLeader() {
        var c = TestCluster(voters: 3)
        c.elect(1)
        #expect(throws: RaftError.notLeader(leader: 1)) { try c[2].propose([1]) }
    }

    @Test func aRestartedNodeRecoversItsTermVoteAndLog() throws {
        var c = TestCluster(voters: 3)
        c.elect(1)
        _ = try c[1].propose([5])
        c.stabilize()
        let before = (c[2].term, c[2].vote, c[2].lastIndex, c[2].commitIndex)
        c.restart(2)
        #expect((c[2].term, c[2].vote, c[2].lastIndex, c[2].commitIndex) == before)
        #expect(c[2].confState.voters == [1, 2, 3])
    }
}
