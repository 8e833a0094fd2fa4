import Foundation
import RaftCore
import Testing
@testable import Storage

/// The entries a RocksDB log keeps in memory: whatever they answer is what
/// the whole log holds, and they answer for its tail.
@Suite struct RecentEntriesTests {
    @Test func answersOnlyWhatTheLogHoldsThroughRandomWritesAndCompactions() {
        let seed = ProcessInfo.processInfo.environment["RECENT_ENTRIES_SEED"].flatMap { UInt64($0) } ?? .random(in: 0...UInt64.max)
        print("RecentEntriesTests seed \(seed) (replay with RECENT_ENTRIES_SEED=\(seed))")
        var random = TestRandom(seed: seed)
        var recent = RecentEntries(limits: .init(entries: 16, bytes: 600))
        // The whole log: entries first...last.
        var log: [Entry] = []
        var first: UInt64 = 1
        for step in 0..<3_000 {
            let last = first + UInt64(log.count) - 1
            switch random.next() % 8 {
            case 0..<6:
                // Append, or replace a suffix, as Raft writes.
                let start = max(first, last + 1 - min(UInt64(log.count), random.next() % 5))
                let count = random.next() % 6 + 1
                let term = UInt64(step / 50 + 1)
                let written = makeEntries(start...(start + count - 1), term: term, size: Int(random.next() % 80))
                log.removeLast(Int(last + 1 - start))
                log += written
                recent.write(written)
            case 6:
                guard !log.isEmpty else { continue }
                let through = first + random.next() % UInt64(log.count)
                log.removeFirst(Int(through - first + 1))
                first = through + 1
                recent.drop(through: through)
            default:
                // A snapshot replaces the log.
                first = first + UInt64(log.count) + random.next() % 3
                log = []
                recent.removeAll()
            }
            let end = first + UInt64(log.count)
            for _ in 0..<4 where !log.isEmpty {
                let lo = first + random.next() % UInt64(log.count)
                let hi = lo + 1 + random.next() % (end - lo)
                let limit: UInt64 = [0, 150, .max][Int(random.next() % 3)]
                if let kept = recent.entries(from: lo, to: hi, maxBytes: limit) {
                    #expect(kept == Self.read(log, first: first, lo, hi, limit), "seed \(seed) step \(step)")
                }
                if let term = recent.term(at: lo) {
                    #expect(term == log[Int(lo - first)].term, "seed \(seed) step \(step)")
                }
            }
            // The newest entry is always kept.
            if let newest = log.last {
                #expect(recent.entries(from: newest.index, to: newest.index + 1, maxBytes: 0) == [newest], "seed \(seed) step \(step)")
            }
        }
    }

    /// As `RaftStorage.entries` reads `log`: at least one entry, then up to `limit` bytes.
    static func read(_ log: [Entry], first: UInt64, _ lo: UInt64, _ hi: UInt64, _ limit: UInt64) -> [Entry] {
        var out: [Entry] = []
        var total: UInt64 = 0
        for entry in log[Int(lo - first)..<Int(hi - first)] {
            total += entry.byteSize
            if total > limit && !out.isEmpty { break }
            out.append(entry)
        }
        return out
    }
}
