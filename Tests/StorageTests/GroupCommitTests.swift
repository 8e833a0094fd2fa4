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
