#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RaftCore
import Storage

/// The child process of the storage crash test: it appends to a RocksDB store
/// with sync, forever, printing `ack <index>` after each acknowledged append,
/// until the test kills it with SIGKILL.
///
/// Usage: `StorageCrashChild <data-dir> <term> <seed>`. Every entry's payload
/// is `CrashPayload.bytes(index:term:)`, so the test can check it intact.
/// Now and then it also takes a snapshot and compacts, so those are killed
/// mid-way too. Exit status 2 with a message on stderr when it cannot open the store.
@main
struct StorageCrashChild {
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count == 4, let term = UInt64(arguments[2]), let seed = UInt64(arguments[3]) else {
            fail("usage: StorageCrashChild <data-dir> <term> <seed>")
        }
        let store: RocksDBStore
        do {
            store = try RocksDBStore(path: arguments[1], options: .init(initialConfState: ConfState(voters: [1])))
        } catch {
            fail("cannot open \(arguments[1]): \(error)")
        }
        var random = SplitMix64(seed: seed)
        let raft = store.raft
        do {
            var last = try raft.lastIndex()
            emit("ready \(last)")
            while true {
                let count = Int(random.next() % 16) + 1
                let entries = (1...UInt64(count)).map { offset in
                    let index = last + offset
                    return Entry(term: term, index: index, data: CrashPayload.bytes(index: index, term: term))
                }
                last += UInt64(count)
                try raft.persist(entries: entries, hardState: HardState(term: term, vote: 1, commit: last), snapshot: nil)
                emit("ack \(last)")
                if random.next() % 50 == 0 {
                    let snapshotIndex = last - UInt64(random.next() % 8)
                    if snapshotIndex > raft.snapshotIndexForCrashChild {
                        try raft.createSnapshot(index: snapshotIndex, confState: ConfState(voters: [1]), data: CrashPayload.bytes(index: snapshotIndex, term: 0))
                        let target = snapshotIndex > 20 ? snapshotIndex - 20 : 0
                        if target >= (try raft.firstIndex()) { try raft.compact(through: target) }
                    }
                }
            }
        } catch {
            fail("write failed: \(error)")
        }
    }

    static func emit(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { write(1, $0.baseAddress! + written, $0.count - written) }
            if count <= 0 { fail("stdout closed") }
            written += count
        }
    }

    static func fail(_ message: String) -> Never {
        let bytes = Array((message + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        exit(2)
    }
}

extension RocksDBRaftStorage {
    fileprivate var snapshotIndexForCrashChild: UInt64 {
        (try? snapshot().metadata.index) ?? 0
    }
}

/// The payload of entry `index` written in `term`: recognisable and checkable.
enum CrashPayload {
    static func bytes(index: UInt64, term: UInt64) -> [UInt8] {
        let length = Int(index % 97) + 8
        return (0..<length).map { UInt8(truncatingIfNeeded: index &* 31 &+ term &* 7 &+ UInt64($0)) }
    }
}

/// A small seeded generator (SplitMix64), so a run can be replayed.
struct SplitMix64 {
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
