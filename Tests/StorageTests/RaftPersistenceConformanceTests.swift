import Foundation
import RaftCore
import Testing
@testable import Storage

/// The Raft log, hard state and snapshot contract, proven against both backends.
@Suite struct RaftPersistenceConformanceTests {
    @Test(arguments: Backend.allCases)
    func freshStoreIsEmptyWithItsInitialMembership(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        #expect(try store.raft.firstIndex() == 1)
        #expect(try store.raft.lastIndex() == 0)
        #expect(try store.raft.term(at: 0) == 0)
        #expect(store.raft.hardState == HardState())
        #expect(try store.raft.snapshot().isEmpty)
        let (hardState, confState) = try store.raft.initialState()
        #expect(hardState.isEmpty)
        #expect(confState == ConfState(voters: [1, 2, 3]))
        #expect(try store.raft.entries(from: 1, to: 1, maxBytes: .max) == [])
    }

    @Test(arguments: Backend.allCases)
    func appendedEntriesReadBackInOrder(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        try store.raft.append(makeEntries(1...5, term: 1))
        try store.raft.append(makeEntries(6...8, term: 2))
        #expect(try store.raft.lastIndex() == 8)
        #expect(try store.raft.entries(from: 1, to: 9, maxBytes: .max) == makeEntries(1...5, term: 1) + makeEntries(6...8, term: 2))
        #expect(try store.raft.entries(from: 3, to: 5, maxBytes: .max) == Array(makeEntries(3...4, term: 1)))
        #expect(try store.raft.term(at: 5) == 1)
        #expect(try store.raft.term(at: 6) == 2)
        #expect(try store.raft.term(at: 8) == 2)
    }

    @Test(arguments: Backend.allCases)
    func appendReplacesAConflictingSuffix(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        try store.raft.append(makeEntries(1...6, term: 1))
        try store.raft.append(makeEntries(4...5, term: 3))
        #expect(try store.raft.lastIndex() == 5)
        #expect(try store.raft.entries(from: 1, to: 6, maxBytes: .max).map(\.term) == [1, 1, 1, 3, 3])
        #expect(throws: RaftStorageError.unavailable) { try store.raft.term(at: 6) }
        // A longer replacement, after reopening for the durable backend.
        try store.reopen()
        try store.raft.append(makeEntries(2...7, term: 4))
        #expect(try store.raft.entries(from: 1, to: 8, maxBytes: .max).map(\.term) == [1, 4, 4, 4, 4, 4, 4])
    }

    @Test(arguments: Backend.allCases)
    func entriesStopAtTheByteLimitButReturnAtLeastOne(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        try store.raft.append(makeEntries(1...5, term: 1, size: 8))  // 32 bytes each
        #expect(try store.raft.entries(from: 1, to: 6, maxBytes: 0).count == 1)
        #expect(try store.raft.entries(from: 1, to: 6, maxBytes: 64).count == 2)
        #expect(try store.raft.entries(from: 1, to: 6, maxBytes: 95).count == 2)
        #expect(try store.raft.entries(from: 2, to: 6, maxBytes: 96).map(\.index) == [2, 3, 4])
    }

    @Test(arguments: Backend.allCases)
    func readsOutsideTheLogAreCompactedOrUnavailable(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        try store.raft.append(makeEntries(1...5, term: 1))
        #expect(throws: RaftStorageError.unavailable) { try store.raft.entries(from: 1, to: 7, maxBytes: .max) }
        #expect(throws: RaftStorageError.unavailable) { try store.raft.term(at: 6) }
        #expect(throws: RaftStorageError.compacted) { try store.raft.entries(from: 0, to: 2, maxBytes: .max) }
    }

    @Test(arguments: Backend.allCases)
    func appendThatLeavesAGapIsRefusedAndChangesNothing(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        try store.raft.append(makeEntries(1...3, term: 1))
        #expect(throws: StorageError.logGap(lastIndex: 3, appendedFrom: 5)) {
            try store.raft.persist(entries: makeEntries(5...6, term: 1), hardState: HardState(term: 1, commit: 3), snapshot: nil)
        }
        #expect(throws: StorageError.nonConsecutiveEntries(after: 4, found: 6)) {
            try store.raft.append(makeEntries(4...4, term: 1) + makeEntries(6...6, term: 1))
        }
        #expect(try store.raft.lastIndex() == 3)
        #expect(store.raft.hardState == HardState())
    }

    @Test(arguments: Backend.allCases)
    func persistWritesEntriesAndHardStateTogether(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let hardState = HardState(term: 2, vote: 3, commit: 2)
        try store.raft.persist(entries: makeEntries(1...4, term: 2), hardState: hardState, snapshot: nil)
        try store.reopen()
        #expect(store.raft.hardState == hardState)
        #expect(try store.raft.initialState().0 == hardState)
        #expect(try store.raft.entries(from: 1, to: 5, maxBytes: .max) == makeEntries(1...4, term: 2))
        try store.raft.setHardState(HardState(term: 3, vote: 0, commit: 4))
        try store.reopen()
        #expect(store.raft.hardState == HardState(term: 3, vote: 0, commit: 4))
    }

    @Test(arguments: Backend.allCases)
    func snapshotThenCompactKeepsTheTermOfTheCompactedIndex(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        try store.raft.append(makeEntries(1...3, term: 1) + makeEntries(4...6, term: 2))
        #expect(throws: StorageError.compactBeyondSnapshot(index: 3, snapshotIndex: 0)) {
            try store.raft.compact(through: 3)
        }
        let snapshot = try store.raft.createSnapshot(index: 4, confState: ConfState(voters: [1]), data: [7, 7, 7])
        #expect(snapshot.metadata == SnapshotMetadata(index: 4, term: 2, confState: ConfState(voters: [1])))
        try store.raft.compact(through: 3)
        try store.reopen()
        #expect(try store.raft.firstIndex() == 4)
        #expect(try store.raft.term(at: 3) == 1)
        #expect(try store.raft.snapshot() == snapshot)
        #expect(try store.raft.initialState().1 == ConfState(voters: [1]))
        #expect(throws: RaftStorageError.compacted) { try store.raft.term(at: 2) }
        #expect(throws: RaftStorageError.compacted) { try store.raft.entries(from: 3, to: 5, maxBytes: .max) }
        #expect(try store.raft.entries(from: 4, to: 7, maxBytes: .max).map(\.index) == [4, 5, 6])
        #expect(throws: StorageError.compacted(index: 3, firstIndex: 4)) { try store.raft.compact(through: 3) }
        #expect(throws: StorageError.staleSnapshot(index: 4, current: 4)) {
            try store.raft.createSnapshot(index: 4, confState: ConfState(voters: [1]), data: [])
        }
        #expect(throws: StorageError.unavailable(index: 9, lastIndex: 6)) {
            try store.raft.createSnapshot(index: 9, confState: ConfState(voters: [1]), data: [])
        }
        // Appending entries the compaction covers skips them.
        try store.raft.append(makeEntries(2...7, term: 2))
        #expect(try store.raft.lastIndex() == 7)
        #expect(try store.raft.firstIndex() == 4)
    }

    @Test(arguments: Backend.allCases)
    func appliedSnapshotReplacesTheLogAndRaisesCommit(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        try store.raft.persist(entries: makeEntries(1...5, term: 1), hardState: HardState(term: 1, vote: 1, commit: 2), snapshot: nil)
        let incoming = Snapshot(metadata: SnapshotMetadata(index: 10, term: 3, confState: ConfState(voters: [1, 2])), data: [1, 2, 3])
        try store.raft.persist(entries: makeEntries(11...12, term: 3), hardState: HardState(term: 3, vote: 0, commit: 0), snapshot: incoming)
        try store.reopen()
        #expect(try store.raft.firstIndex() == 11)
        #expect(try store.raft.lastIndex() == 12)
        #expect(try store.raft.term(at: 10) == 3)
        #expect(try store.raft.snapshot() == incoming)
        #expect(store.raft.hardState == HardState(term: 3, vote: 0, commit: 10))
        #expect(throws: RaftStorageError.compacted) { try store.raft.entries(from: 5, to: 11, maxBytes: .max) }
        #expect(throws: StorageError.staleSnapshot(index: 10, current: 10)) { try store.raft.applySnapshot(incoming) }
        // A snapshot alone leaves an empty log after it.
        let later = Snapshot(metadata: SnapshotMetadata(index: 20, term: 4, confState: ConfState(voters: [1])), data: [9])
        try store.raft.applySnapshot(later)
        #expect(try store.raft.lastIndex() == 20)
        #expect(try store.raft.firstIndex() == 21)
        try store.raft.append(makeEntries(21...21, term: 4))
        #expect(try store.raft.term(at: 21) == 4)
    }

    @Test(arguments: Backend.allCases)
    func randomOperationsMatchTheReferenceModel(_ backend: Backend) throws {
        // The same seeded sequence against this backend and against RaftCore's
        // MemoryStorage; every read must agree.
        let seed = ProcessInfo.processInfo.environment["REFERENCE_MODEL_SEED"].flatMap { UInt64($0) } ?? .random(in: 0...UInt64.max)
        print("reference model test (\(backend)) seed \(seed) (replay with REFERENCE_MODEL_SEED=\(seed))")
        let store = try StoreFixture(backend)
        let model = MemoryStorage(confState: store.confState)
        var random = TestRandom(seed: seed)
        for step in 0..<300 {
            let last = try model.lastIndex()
            let first = try model.firstIndex()
            switch random.next() % 10 {
            case 0..<6:
                // Raft never replaces a committed entry (and the durable store
                // refuses to reopen a log that ends below its commit index),
                // nor one a snapshot covers: case 8 may lower the commit index
                // below the snapshot's, which Raft never does.
                let committed = max(model.hardState.commit, try model.snapshot().metadata.index)
                let start = max(first, committed + 1, last + 1 - min(last + 1 - first, random.next() % 4))
                let count = random.next() % 6 + 1
                let term = (try model.term(at: start - 1)) + random.next() % 2
                let entries = makeEntries(start...(start + count - 1), term: max(term, 1), size: Int(random.next() % 40))
                try store.raft.append(entries)
                model.append(entries)
            case 6:
                let snapshotIndex = try model.snapshot().metadata.index
                if last > snapshotIndex {
                    let index = snapshotIndex + 1 + random.next() % (last - snapshotIndex)
                    try store.raft.createSnapshot(index: index, confState: store.confState, data: [UInt8(step & 0xff)])
                    try model.createSnapshot(index: index, confState: store.confState, data: [UInt8(step & 0xff)])
                }
            case 7:
                let snapshotIndex = try model.snapshot().metadata.index
                if snapshotIndex >= first {
                    let index = first + random.next() % (snapshotIndex - first + 1)
                    try store.raft.compact(through: index)
                    try model.compact(through: index)
                }
            case 8:
                let state = HardState(term: random.next() % 5, vote: random.next() % 3, commit: min(last, random.next() % 50))
                try store.raft.setHardState(state)
                model.setHardState(state)
            default:
                if random.next() % 4 == 0 { try store.reopen() }
            }
            let lo = try model.firstIndex(), hi = try model.lastIndex() + 1
            #expect(try store.raft.firstIndex() == lo, "seed \(seed) step \(step)")
            #expect(try store.raft.lastIndex() == hi - 1, "seed \(seed) step \(step)")
            #expect(try store.raft.entries(from: lo, to: hi, maxBytes: .max) == model.entries(from: lo, to: hi, maxBytes: .max), "seed \(seed) step \(step)")
            #expect(try store.raft.term(at: lo - 1) == model.term(at: lo - 1), "seed \(seed) step \(step)")
            // A part of the log, which may lie in the entries a store keeps in memory, in its files, or across both.
            let from = lo + random.next() % (hi - lo + 1)
            let to = from + random.next() % (hi - from + 1)
            let limit: UInt64 = [0, 100, .max][Int(random.next() % 3)]
            #expect(try store.raft.entries(from: from, to: to, maxBytes: limit) == model.entries(from: from, to: to, maxBytes: limit),
                    "seed \(seed) step \(step): \(from)..<\(to) within \(limit) bytes")
            if from < hi { #expect(try store.raft.term(at: from) == model.term(at: from), "seed \(seed) step \(step)") }
            #expect(store.raft.hardState == model.hardState, "seed \(seed) step \(step)")
            #expect(try store.raft.snapshot() == model.snapshot(), "seed \(seed) step \(step)")
        }
    }
}

/// SplitMix64 for tests: seeded, so a failure can be replayed from its printed seed.
struct TestRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
