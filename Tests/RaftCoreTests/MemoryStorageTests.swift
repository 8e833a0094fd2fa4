import Testing
@testable import RaftCore

@Suite struct MemoryStorageTests {
    func entries(_ range: ClosedRange<UInt64>, term: UInt64) -> [Entry] {
        range.map { Entry(term: term, index: $0, data: [UInt8($0 & 0xff)]) }
    }

    @Test func appendTruncatesConflictingSuffix() throws {
        let storage = MemoryStorage()
        storage.append(entries(1...5, term: 1))
        storage.append(entries(4...6, term: 2))
        #expect(try storage.lastIndex() == 6)
        #expect(try storage.term(at: 3) == 1)
        #expect(try storage.term(at: 4) == 2)
        #expect(try storage.entries(from: 1, to: 7, maxBytes: .max).map(\.term) == [1, 1, 1, 2, 2, 2])
    }

    @Test func entriesRespectByteLimitButReturnAtLeastOne() throws {
        let storage = MemoryStorage()
        storage.append(entries(1...5, term: 1))
        #expect(try storage.entries(from: 1, to: 6, maxBytes: 0).count == 1)
        #expect(try storage.entries(from: 1, to: 6, maxBytes: 50).count == 2)
    }

    @Test func compactionKeepsTermOfCompactedIndex() throws {
        let storage = MemoryStorage()
        storage.append(entries(1...5, term: 3))
        try storage.createSnapshot(index: 3, confState: ConfState(voters: [1]), data: [9])
        try storage.compact(through: 3)
        #expect(try storage.firstIndex() == 4)
        #expect(try storage.term(at: 3) == 3)
        #expect(throws: RaftStorageError.compacted) { try storage.term(at: 2) }
        #expect(throws: RaftStorageError.compacted) { try storage.entries(from: 3, to: 5, maxBytes: .max) }
        #expect(throws: RaftStorageError.unavailable) { try storage.term(at: 6) }
    }

    @Test func confChangeRoundTrips() throws {
        let change = ConfChange(.addLearner, 0x0102_0304_0506_0708, context: Array("10.0.0.1:7647".utf8))
        #expect(try ConfChange(decoding: change.encoded()) == change)
        #expect(throws: RaftError.invalidConfChange) { try ConfChange(decoding: [7]) }
    }
}
