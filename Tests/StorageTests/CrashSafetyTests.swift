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
        var highestAcknowledged: UInt64 = 0
        var totalAcknowledged = 0

        for round in 1...Self.rounds {
            let term = UInt64(round)
            let child = try CrashChildProcess(directory: directory.path, term: term, seed: random.next())
            // Wait until the child has opened the store and written something.
            guard child.readLine(until: { $0.hasPrefix("ack ") }) != nil else {
                let result = child.waitForExit()
                Issue.record("seed \(seed) round \(round): child ended early (\(result.status)): \(result.stderr)")
                return
            }
            // The random moment of the kill is the point of the test.
            usleep(useconds_t(random.next() % 150_000))
            child.kill()
            let acknowledged = child.remainingLines().compactMap { line -> UInt64? in
                line.hasPrefix("ack ") ? UInt64(line.dropFirst(4)) : nil
            }
            let result = child.waitForExit()
            #expect(result.status != 0 || result.stderr.isEmpty, "seed \(seed) round \(round): \(result.stderr)")
            highestAcknowledged = max(highestAcknowledged, acknowledged.max() ?? 0)
            totalAcknowledged += acknowledged.count

            try verify(directory: directory.path, acknowledgedThrough: highestAcknowledged, term: term, context: "seed \(seed) round \(round)")
        }
        print("storage crash test: \(Self.rounds) rounds, \(totalAcknowledged) acknowledged appends, log reached \(highestAcknowledged)")
    }

    /// Reopens the store and checks every acknowledged entry.
    private func verify(directory: String, acknowledgedThrough acknowledged: UInt64, term: UInt64, context: String) throws {
        let store = try RocksDBStore(path: directory)
        defer { store.close() }
        let raft = store.raft
        let last = try raft.lastIndex()
        #expect(last >= acknowledged, "\(context): log ends at \(last), \(acknowledged) was acknowledged")
        #expect(raft.hardState.commit >= acknowledged, "\(context): commit \(raft.hardState.commit) < \(acknowledged)")
        let first = try raft.firstIndex()
        let snapshot = try raft.snapshot()
        #expect(snapshot.metadata.index + 1 >= first, "\(context): compacted beyond the snapshot")
        var index = first
        var previousTerm: UInt64 = 0
        while index <= last {
            let batch = try raft.entries(from: index, to: last + 1, maxBytes: 1 << 20)
            for entry in batch {
                #expect(entry.index == index)
                #expect(entry.term >= previousTerm && entry.term <= term, "\(context): entry \(index) has term \(entry.term)")
                #expect(entry.data == CrashPayload.bytes(index: entry.index, term: entry.term), "\(context): entry \(index) damaged")
                previousTerm = entry.term
                index += 1
            }
        }
    }
}

/// Must match `CrashPayload` in the StorageCrashChild target.
enum CrashPayload {
    static func bytes(index: UInt64, term: UInt64) -> [UInt8] {
        let length = Int(index % 97) + 8
        return (0..<length).map { UInt8(truncatingIfNeeded: index &* 31 &+ term &* 7 &+ UInt64($0)) }
    }
}
