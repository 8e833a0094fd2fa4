import Foundation
import RaftCore
import Testing
@testable import Storage

/// Writes that arrive together share one sync.
@Suite struct GroupCommitTests {
    @Test func concurrentWritersShareSyncs() throws {
        let directory = TemporaryDirectory()
        let store = try RocksDBStore(path: directory.path)
        defer { store.close() }
        let writers = 16, writesEach = 20
        let before = store.statistics
        let failures = Failures()
        runOnThreads(writers) { writer in
            for write in 0..<writesEach {
                do {
                    try store.keyValues.put(Array("w\(writer)/\(write)".utf8), [UInt8(write)])
                } catch {
                    failures.record(error)
                }
            }
        }
        #expect(failures.errors.isEmpty)
        let after = store.statistics
        #expect(after.writes - before.writes == UInt64(writers * writesEach))
        #expect(after.syncs - before.syncs < UInt64(writers * writesEach), "no two writes shared a sync")
        for writer in 0..<writers {
            #expect(try store.keyValues.scan(prefix: Array("w\(writer)/".utf8)).count == writesEach)
        }
    }

    /// Writers that queue while a synced write is in flight are written
    /// together, with one sync: counted at the committer's `perform`, which
    /// is the one place a batch reaches RocksDB.
    @Test(.timeLimit(.minutes(1)))
    func writersQueuedBehindASyncShareTheNextOne() throws {
        let recorder = PerformRecorder()
        let committer = GroupCommitter(sync: true) { writes, sync in
            recorder.perform(operations: writes.count, sync: sync)
            return nil
        }
        let writers = 8
        let done = DispatchGroup()
        func write(_ writer: Int) {
            done.enter()
            Thread {
                var writes = WriteSet()
                writes.put(.kv, [UInt8(writer)], [1])
                writes.put(.kv, [UInt8(writer), 1], [2])
                do { try committer.commit(writes) } catch { Issue.record("writer \(writer): \(error)") }
                done.leave()
            }.start()
        }
        // The first writer leads and is held inside its sync ...
        write(0)
        recorder.awaitFirstPerform()
        // ... while the others queue behind it.
        for writer in 1..<writers { write(writer) }
        while committer.queuedCount < writers - 1 { sched_yield() }
        recorder.release()
        done.wait()

        #expect(recorder.performs == [.init(operations: 2, sync: true), .init(operations: 2 * (writers - 1), sync: true)])
        let counters = committer.counters
        #expect(counters.writes == UInt64(writers))
        #expect(counters.groups == 2)
        #expect(counters.syncs == 2)
    }

    /// The store's sync counter matches RocksDB's own count of write-ahead
    /// log syncs, and concurrent writers need fewer syncs than writes.
    @Test func theSyncCountIsRocksDBsOwn() throws {
        let directory = TemporaryDirectory()
        var options = RocksDBStore.Options()
        options.collectsStatistics = true
        let store = try RocksDBStore(path: directory.path, options: options)
        defer { store.close() }
        let rocksBefore = try #require(store.core.database.walSyncs)
        let before = store.statistics
        runOnThreads(16) { writer in
            for write in 0..<20 {
                do {
                    try store.keyValues.put(Array("w\(writer)/\(write)".utf8), [UInt8(write)])
                } catch {
                    Issue.record("\(error)")
                }
            }
        }
        let after = store.statistics
        let rocksSyncs = try #require(store.core.database.walSyncs) - rocksBefore
        #expect(after.writes - before.writes == 320)
        #expect(rocksSyncs == after.syncs - before.syncs)
        #expect(rocksSyncs < 320, "every write had a sync of its own")
    }

    /// As etcd's MustSync: entries and a new term or vote are synced; a
    /// commit index alone is written without sync, and still reads back.
    @Test func onlyACommitIndexChangeIsWrittenWithoutSync() throws {
        let directory = TemporaryDirectory()
        var options = RocksDBStore.Options()
        options.collectsStatistics = true
        let store = try RocksDBStore(path: directory.path, options: options)
        let raft = store.raft
        func syncs(_ body: () throws -> Void) throws -> UInt64 {
            let before = try #require(store.core.database.walSyncs)
            try body()
            return try #require(store.core.database.walSyncs) - before
        }
        #expect(try syncs { try raft.persist(entries: makeEntries(1...3, term: 1), hardState: HardState(term: 1, vote: 2), snapshot: nil) } == 1)
        #expect(try syncs { try raft.persist(entries: [], hardState: HardState(term: 1, vote: 2, commit: 3), snapshot: nil) } == 0)
        #expect(try syncs { try raft.persist(entries: [], hardState: HardState(term: 2, vote: 0, commit: 3), snapshot: nil) } == 1)
        #expect(try syncs { try raft.persist(entries: makeEntries(4...4, term: 2), hardState: nil, snapshot: nil) } == 1)
        store.close()
        let reopened = try RocksDBStore(path: directory.path)
        defer { reopened.close() }
        #expect(reopened.raft.hardState == HardState(term: 2, vote: 0, commit: 3))
        #expect(try reopened.raft.lastIndex() == 4)
    }

    @Test func logPersistAndKeyValueWritesCommitTogether() throws {
        let directory = TemporaryDirectory()
        let store = try RocksDBStore(path: directory.path)
        let raft = store.raft
        let failures = Failures()
        runOnThreads(2) { role in
            do {
                if role == 0 {
                    for index in 1...UInt64(200) {
                        try raft.persist(entries: makeEntries(index...index, term: 1), hardState: HardState(term: 1, commit: index), snapshot: nil)
                    }
                } else {
                    for key in 0..<200 { try store.keyValues.put(Array("k\(key)".utf8), [1]) }
                }
            } catch {
                failures.record(error)
            }
        }
        #expect(failures.errors.isEmpty)
        store.close()
        let reopened = try RocksDBStore(path: directory.path)
        defer { reopened.close() }
        #expect(try reopened.raft.lastIndex() == 200)
        #expect(reopened.raft.hardState.commit == 200)
        #expect(try reopened.keyValues.scan(prefix: Array("k".utf8)).count == 200)
    }

    @Test func aClosedStoreRefusesWrites() throws {
        let directory = TemporaryDirectory()
        let store = try RocksDBStore(path: directory.path)
        store.close()
        #expect(throws: StorageError.closed) { try store.keyValues.put([1], [1]) }
        #expect(throws: StorageError.closed) { try store.raft.append(makeEntries(1...1, term: 1)) }
    }
}

final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [any Error] = []

    func record(_ error: any Error) {
        lock.lock()
        recorded.append(error)
        lock.unlock()
    }

    var errors: [any Error] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }
}

/// Runs `body` on `count` threads of its own at once (not the cooperative
/// pool, nor `concurrentPerform`, which both stop at the number of cores).
func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread {
            body(index)
            group.leave()
        }.start()
    }
    group.wait()
}

/// What a test committer's `perform` was given; holds the first call until released.
final class PerformRecorder: @unchecked Sendable {
    struct Perform: Equatable {
        var operations: Int
        var sync: Bool
    }

    // Safety: every property is used only under `condition`.
    private let condition = NSCondition()
    private var recorded: [Perform] = []
    private var released = false

    func perform(operations: Int, sync: Bool) {
        condition.lock()
        defer { condition.unlock() }
        recorded.append(Perform(operations: operations, sync: sync))
        condition.broadcast()
        while !released { condition.wait() }
    }

    func awaitFirstPerform() {
        condition.lock()
        defer { condition.unlock() }
        while recorded.isEmpty { condition.wait() }
    }

    func release() {
        condition.lock()
        defer { condition.unlock() }
        released = true
        condition.broadcast()
    }

    var performs: [Perform] {
        condition.lock()
        defer { condition.unlock() }
        return recorded
    }
}
