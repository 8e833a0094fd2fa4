import Testing
@testable import RaftCore

/// Inputs given between `ready()` and `advance(_:)`, while a Ready's writes
/// are under way (as the Raft driver does): they take effect, but nothing
/// they produce is handed out before that Ready is done.
@Suite struct InputsDuringWriteTests {
    /// Persists and advances every Ready of `ids` (not of the others), queueing their messages.
    static func settle(_ c: inout TestCluster, _ ids: [NodeID]) {
        for id in ids {
            while c[id].hasReady {
                let rd = c[id].ready()
                c.storages[id]!.append(rd.entries)
                if let hard = rd.hardState { c.storages[id]!.setHardState(hard) }
                c.outbox += rd.messages
                c.applied[id]! += rd.committedEntries
                c[id].advance(rd)
            }
        }
    }

    @Test func aLeaderCommitsWhatFollowersAckedDuringItsOwnWriteOnlyAfterIt() throws {
        var c = TestCluster(voters: 3)
        c.elect(1)
        let index = try c[1].propose([7]).index
        let rd = c[1].ready()
        #expect(rd.entries.map(\.index) == [index])
        // The appends go out before the leader's own write; the followers write and ack.
        c.outbox += rd.messages
        while let m = c.outbox.first {
            c.outbox.removeFirst()
            c[m.to].step(m)
            Self.settle(&c, [2, 3])
        }
        #expect(c[1].commitIndex == index, "the acks count the leader's own entry")
        let more = try c[1].propose([8]).index
        // The leader's write completes; only then does the commit come out.
        c.storages[1]!.append(rd.entries)
        if let hard = rd.hardState { c.storages[1]!.setHardState(hard) }
        c[1].advance(rd)
        let next = c[1].ready()
        #expect(next.committedEntries.map(\.index) == [index])
        #expect(next.entries.map(\.index) == [more], "the proposal made during the write is the next one's")
        #expect(try c.storages[1]!.lastIndex() >= index)
    }

    @Test func aFollowerWhoseUnwrittenEntriesAreReplacedDuringTheWriteWritesTheNewOnes() throws {
        var c = TestCluster(voters: 3)
        c.elect(1)
        let term = c[1].term
        let last = c[2].lastIndex
        c[2].step(Message(type: .append, from: 1, to: 2, term: term, logTerm: term, index: last,
                          entries: [Entry(term: term, index: last + 1, data: [1])], commit: last))
        let rd = c[2].ready()
        #expect(rd.entries.map(\.term) == [term])
        // A new leader's conflicting entry arrives while that entry is being written.
        c[2].step(Message(type: .append, from: 3, to: 2, term: term + 1, logTerm: term, index: last,
                          entries: [Entry(term: term + 1, index: last + 1, data: [2])], commit: last))
        c.storages[2]!.append(rd.entries)
        if let hard = rd.hardState { c.storages[2]!.setHardState(hard) }
        c[2].advance(rd)
        let next = c[2].ready()
        #expect(next.entries == [Entry(term: term + 1, index: last + 1, data: [2])])
        #expect(next.messages.allSatisfy { $0.to == 3 })
        c.storages[2]!.append(next.entries)
        c[2].advance(next)
        #expect(try c.storages[2]!.term(at: last + 1) == term + 1)
    }
}
