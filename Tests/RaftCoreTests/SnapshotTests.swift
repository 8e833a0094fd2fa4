import Testing
@testable import RaftCore

/// §7: compaction and InstallSnapshot in chunks.
@Suite struct SnapshotTests {
    /// A cluster where node 3 missed entries the leader then compacted away.
    static func compactedPastNode3(chunk: UInt64) throws -> TestCluster {
        var c = TestCluster(voters: 3) { $0.snapshotChunkBytes = chunk }
        c.elect(1)
        c.isolated = [3]
        for i in 0..<20 { _ = try c[1].propose([UInt8(i)]) }
        c.stabilize()
        let applied = c[1].appliedIndex
        let data = [UInt8](repeating: 0x5A, count: 100)
        try c.storages[1]!.createSnapshot(index: applied, confState: c[1].confState(atIndex: applied)!, data: data)
        try c.storages[1]!.compact(through: applied)
        c.isolated = []
        return c
    }

    @Test func aFarBehindFollowerCatchesUpThroughASnapshotInChunks() throws {
        var c = try Self.compactedPastNode3(chunk: 30)
        // heartbeat → rejected append → probe → compacted → snapshot
        let delivered = c.tickAll(4)
        let chunks = delivered.filter { $0.type == .snapshot && $0.to == 3 }
        #expect(chunks.map { $0.snapshot!.offset } == [0, 30, 60, 90])
        #expect(try c.storages[3]!.snapshot().data == [UInt8](repeating: 0x5A, count: 100))
        #expect(c[3].lastIndex == c[1].lastIndex)
        #expect(c[1].progress(of: 3)!.state == .replicate)
        // Replication continues normally after the snapshot.
        _ = try c[1].propose([0xEE])
        c.stabilize()
        #expect(c.appliedData(3).last == [0xEE])
    }

    @Test func aLostChunkIsSentAgain() throws {
        var c = try Self.compactedPastNode3(chunk: 30)
        var dropped = false
        c.tickAll(1) { m in
            if m.type == .snapshot && m.snapshot!.offset == 30 && !dropped {
                dropped = true
                return false
            }
            return true
        }
        #expect(dropped)
        for _ in 0..<4 { c.tickAll(1) }
        #expect(try c.storages[3]!.snapshot().metadata.index == (try c.storages[1]!.snapshot().metadata.index))
        #expect(c[3].lastIndex == c[1].lastIndex)
    }

    @Test func snapshotMetadataCarriesTheMembershipAtItsIndex() throws {
        var c = TestCluster(voters: 3)
        c.elect(1)
        let before = c[1].lastIndex
        c.add(4, storage: MemoryStorage())
        try c[1].proposeConfChange(ConfChange(.addLearner, 4))
        c.stabilize()
        #expect(c[1].confState(atIndex: before) == ConfState(voters: [1, 2, 3]))
        #expect(c[1].confState(atIndex: c[1].lastIndex) == ConfState(voters: [1, 2, 3], learners: [4]))
    }

    @Test func aRestartAfterInstallingASnapshotResumesFromIt() throws {
        var c = try Self.compactedPastNode3(chunk: 1000)
        for _ in 0..<3 { c.tickAll(1) }
        c.restart(3)
        #expect(c[3].firstIndex == (try c.storages[1]!.snapshot().metadata.index) + 1)
        #expect(c[3].confState.voters == [1, 2, 3])
    }
}
