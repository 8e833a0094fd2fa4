import Foundation
import RaftCore
import Testing
@testable import Storage

/// Crash safety with real processes: a child appends with sync and prints each
/// acknowledged index; it is killed with SIGKILL at a random moment; on reopen
/// every acknowledged entry is present and intact, and the store opens cleanly.
@Suite struct CrashSafetyTests {
    static let rounds = 20

    @Test(.timeLimit(.minutes(2)))
    func acknowledgedAppendsSurviveSIGKILL() throws {
        let seed = ProcessInfo.processInfo.environment["STORAGE_CRASH_SEED"].flatMap { UInt64($0) }
            ?? UInt64.random(in: 0...UInt64(UInt32.max))
        print("storage crash test seed \(seed) (replay with STORAGE_CRASH_SEED=\(seed))")
        var random = TestRandom(seed: seed)
        let directory = TemporaryDirectory("crash")
        var acknowledged = AcknowledgedLog()

        for round in 1...Self.rounds {
            let context = "seed \(seed) round \(round)"
            let term = UInt64(round)
            let child = try CrashChildProcess(directory: directory.path, term: term, seed: random.next())
            // Wait until the child has opened the store and written something.
            guard let ready = child.readLine(until: { $0.hasPrefix("ready ") }).flatMap({ UInt64($0.dropFirst(6)) }),
                let firstAck = child.readLine(until: { $0.hasPrefix("ack ") }).flatMap({ UInt64($0.dropFirst(4)) })
            else {
                Issue.record("\(context): the child ended before its first acknowledged append: it \(child.waitForExit())")
                return
            }
            // The child appends after the last entry it found, whether or not that was acknowledged.
            #expect(ready >= acknowledged.last, "\(context): the child found the log ending at \(ready), below the acknowledged \(acknowledged.last)")
            // The random moment of the kill is the point of the test.
            usleep(useconds_t(random.next() % 150_000))
            child.kill()
            let acks = child.remainingLines().compactMap { line -> UInt64? in
                line.hasPrefix("ack ") ? UInt64(line.dropFirst(4)) : nil
            }
            let exit = child.waitForExit()
            // Anything but SIGKILL means the child stopped on its own (a failed write,
            // a crash) before the kill: the test did not test what it claims.
            #expect(exit.ending == .signal(SIGKILL), "\(context): the child \(exit)")
            let highest = max(acks.max() ?? 0, firstAck)
            acknowledged.record(ready + 1...highest, term: term)

            try verify(directory: directory.path, acknowledged: acknowledged, term: term, context: context)
        }
        print("storage crash test seed \(seed): \(Self.rounds) rounds, \(acknowledged.count) acknowledged entries, log reached \(acknowledged.last)")
    }

    @Test func aChildThatExitsOnItsOwnIsToldApartFromOneKilled() throws {
        // The child cannot open a store under a regular file: it exits 2 with a message.
        let directory = TemporaryDirectory("crash-exit")
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
        let file = directory.path + "/file"
        #expect(FileManager.default.createFile(atPath: file, contents: Data([1])))
        let failing = try CrashChildProcess(directory: file + "/store", term: 1, seed: 1)
        #expect(failing.readLine(until: { $0.hasPrefix("ack ") }) == nil)
        let failed = failing.waitForExit()
        #expect(failed.ending == .exited(2))
        #expect(failed.stderr.contains("cannot open"), "stderr: \(failed.stderr)")

        let killed = try CrashChildProcess(directory: directory.path + "/store", term: 1, seed: 1)
        #expect(killed.readLine(until: { $0.hasPrefix("ack ") }) != nil)
        killed.kill()
        _ = killed.remainingLines()
        #expect(killed.waitForExit().ending == .signal(SIGKILL))
    }

    /// Reopens the store and checks every acknowledged entry: present with the
    /// term it was written in and its payload intact, or compacted into a
    /// snapshot that is itself intact. Unacknowledged entries that survived
    /// must be intact too.
    private func verify(directory: String, acknowledged: AcknowledgedLog, term: UInt64, context: String) throws {
        let store = try RocksDBStore(path: directory)
        defer { store.close() }
        let raft = store.raft
        let last = try raft.lastIndex()
        #expect(last >= acknowledged.last, "\(context): log ends at \(last), \(acknowledged.last) was acknowledged")
        #expect(raft.hardState.commit >= acknowledged.last, "\(context): commit \(raft.hardState.commit) < \(acknowledged.last)")
        let first = try raft.firstIndex()
        let snapshot = try raft.snapshot()
        #expect(snapshot.metadata.index + 1 >= first, "\(context): compacted through \(first - 1), beyond the snapshot at \(snapshot.metadata.index)")
        if snapshot.metadata.index > 0 {
            #expect(snapshot.data == CrashPayload.bytes(index: snapshot.metadata.index, term: 0), "\(context): snapshot \(snapshot.metadata.index) damaged")
        }
        var entries: [UInt64: Entry] = [:]
        var index = first
        while index <= last {
            let batch = try raft.entries(from: index, to: last + 1, maxBytes: 1 << 20)
            try #require(!batch.isEmpty, "\(context): no entries returned from \(index)")
            for entry in batch {
                #expect(entry.index == index, "\(context): asked for \(index), got \(entry.index)")
                #expect(entry.term <= term, "\(context): entry \(index) has term \(entry.term), after the current \(term)")
                #expect(entry.data == CrashPayload.bytes(index: entry.index, term: entry.term), "\(context): entry \(index) damaged")
                entries[entry.index] = entry
                index += 1
            }
        }
        var missing: [UInt64] = []
        var wrongTerm: [UInt64] = []
        for (range, writtenTerm) in acknowledged.ranges {
            for index in range where index >= first {
                guard let entry = entries[index] else {
                    missing.append(index)
                    continue
                }
                if entry.term != writtenTerm { wrongTerm.append(index) }
            }
        }
        #expect(missing.isEmpty, "\(context): acknowledged entries missing: \(missing.prefix(20))")
        #expect(wrongTerm.isEmpty, "\(context): acknowledged entries with another term: \(wrongTerm.prefix(20))")
    }
}

/// The acknowledged entries so far: each round's range with its term.
struct AcknowledgedLog {
    private(set) var ranges: [(ClosedRange<UInt64>, UInt64)] = []

    var last: UInt64 { ranges.last?.0.upperBound ?? 0 }
    var count: Int { ranges.reduce(0) { $0 + $1.0.count } }

    mutating func record(_ range: ClosedRange<UInt64>, term: UInt64) {
        ranges.append((range, term))
    }
}

/// Must match `CrashPayload` in the StorageCrashChild target.
enum CrashPayload {
    static func bytes(index: UInt64, term: UInt64) -> [UInt8] {
        let length = Int(index % 97) + 8
        return (0..<length).map { UInt8(truncatingIfNeeded: index &* 31 &+ term &* 7 &+ UInt64($0)) }
    }
}
