import Foundation
import RaftCore
import Testing
@testable import Storage

/// Flipped bytes are caught by checksums, reported with the file and what to do.
@Suite struct CorruptionTests {
    @Test func flippedByteInASnapshotFileIsReported() throws {
        let directory = TemporaryDirectory()
        let store = try RocksDBStore(path: directory.path)
        try store.raft.append(makeEntries(1...10, term: 1))
        try store.raft.createSnapshot(index: 8, confState: ConfState(voters: [1]), data: Array(repeating: 0xab, count: 4096))
        let snapshotFile = try #require(try files(in: directory.path + "/snapshots", endingWith: ".snap").first)
        try flipByte(in: snapshotFile, at: 2000)

        // While open: the read is refused, naming the file.
        do {
            _ = try store.raft.snapshot()
            Issue.record("a corrupted snapshot was returned")
        } catch {
            guard case let .backend(message) = error else { Issue.record("unexpected \(error)"); return }
            #expect(message.contains(snapshotFile))
            #expect(message.contains("checksum"))
            #expect(message.contains("move its data directory aside"))
        }
        store.close()

        // On reopen: refused at start-up.
        let error = try #require(openFailure(directory.path))
        guard case let .corrupted(path, detail) = error else { Issue.record("unexpected \(error)"); return }
        #expect(path == snapshotFile)
        #expect(detail.contains("checksum"))
        #expect(error.stopsWrites)
    }

    @Test func flippedByteInATableFileIsDetectedNeverReturned() throws {
        let directory = TemporaryDirectory()
        var generator = TestRandom(seed: 42)
        let entries = (1...200).map { index in
            Entry(term: 1, index: UInt64(index), data: (0..<512).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
        }
        var pairs: [KeyValuePair] = []
        do {
            let store = try RocksDBStore(path: directory.path)
            try store.raft.append(entries)
            for index in 0..<200 {
                let pair = KeyValuePair(key: Array("alloc/\(index)".utf8), value: (0..<512).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
                try store.keyValues.put(pair.key, pair.value)
                pairs.append(pair)
            }
            try store.flushMemtables()
            store.close()
        }
        let tables = try files(in: directory.path + "/rocksdb", endingWith: ".sst")
        #expect(tables.count >= 2)
        for table in tables.prefix(2) {
            let size = try FileManager.default.attributesOfItem(atPath: table)[.size] as? Int ?? 0
            try flipByte(in: table, at: size / 3)
        }

        // Every read either returns the right bytes or throws a corruption
        // error naming a table file; at least one read must have noticed.
        var detected: [String] = []
        if let error = openFailure(directory.path) {
            detected.append(error.description)
        } else {
            let store = try RocksDBStore(path: directory.path)
            defer { store.close() }
            for entry in entries {
                do {
                    let read = try store.raft.entries(from: entry.index, to: entry.index + 1, maxBytes: .max)
                    #expect(read == [entry])
                } catch {
                    guard case let .backend(message) = error else { Issue.record("unexpected \(error)"); continue }
                    detected.append(message)
                }
            }
            for pair in pairs {
                do {
                    #expect(try store.keyValues.get(pair.key) == pair.value)
                } catch {
                    #expect(error.stopsWrites)
                    detected.append(error.description)
                }
            }
        }
        #expect(!detected.isEmpty)
        for message in detected {
            #expect(message.contains("Corrupted data in"), "\(message)")
            #expect(message.contains(".sst") || message.contains("rocksdb"), "\(message)")
        }
    }

    @Test func valueThatFailsItsChecksumIsNeverReturned() throws {
        // Bypass RocksDB's own block checksums: write a record whose own CRC is wrong.
        let directory = TemporaryDirectory()
        let store = try RocksDBStore(path: directory.path)
        defer { store.close() }
        try store.keyValues.put(Array("node/id".utf8), Array("abc".utf8))
        var writes = WriteSet()
        writes.put(.kv, Array("node/id".utf8), Array("abd".utf8) + [0, 0, 0, 0])
        try store.core.committer.commit(writes)
        #expect {
            try store.keyValues.get(Array("node/id".utf8))
        } throws: { error in
            guard let error = error as? StorageError, case let .corrupted(_, detail) = error else { return false }
            return detail.contains("node/id") && detail.contains("checksum")
        }
        try store.raft.append(makeEntries(1...2, term: 1))
        var entry = RecordCoding.encode(Entry(term: 1, index: 1, data: [1, 2, 3]))
        entry[12] ^= 1
        var logWrites = WriteSet()
        logWrites.put(.log, RecordCoding.logKey(1), entry)
        try store.core.committer.commit(logWrites)
        // Read from the files: a store answers for entries it wrote itself from memory.
        store.close()
        let reopened = try RocksDBStore(path: directory.path)
        defer { reopened.close() }
        #expect(throws: RaftStorageError.self) { try reopened.raft.entries(from: 1, to: 3, maxBytes: .max) }
    }
}
