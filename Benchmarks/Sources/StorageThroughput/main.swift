// Storage throughput: Raft log appends per second and fsyncs per second on
// RocksDB, for entries of 100 B and 4 KiB, batches of 1, 64 and 1,024 entries
// per persist call, with and without sync; then group commit across concurrent
// writers. The disk's raw fdatasync rate, measured in the same run, is the
// baseline: a synced configuration should reach about that many fsyncs per
// second, so entries per second approach (fsync rate × batch size).
//
//   cd Benchmarks && swift run -c release StorageThroughput [seconds-per-case] [directory] [entry-sizes]
//
// `entry-sizes` (e.g. `100` or `100,4096`, the default) limits the log cases,
// for profiling one of them.
import Foundation
import RaftCore
import Storage
import Synchronization

let secondsPerCase = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1]) ?? 1 : 1
let root = CommandLine.arguments.count > 2 ? CommandLine.arguments[2] : NSTemporaryDirectory()
let entrySizes = CommandLine.arguments.count > 3
    ? CommandLine.arguments[3].split(separator: ",").compactMap { Int($0) } : [100, 4096]
let runDirectory = root + "/caravan-storage-bench-\(getpid())"
try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: runDirectory) }
let duration = Duration.milliseconds(Int(secondsPerCase * 1000))

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func format(_ value: Double) -> String {
    value >= 100 ? String(Int(value.rounded())) : String(format: "%.1f", value)
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}

// MARK: Baseline: raw fdatasync rate of this disk.

func rawFsyncRate(bytes: Int) -> Double {
    let path = runDirectory + "/raw-fsync"
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0, "cannot create \(path)")
    defer { close(fd); unlink(path) }
    let buffer = [UInt8](repeating: 0x42, count: bytes)
    var count = 0
    var offset: off_t = 0
    let clock = ContinuousClock()
    let start = clock.now
    while clock.now - start < duration {
        _ = buffer.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, offset) }
        offset += off_t(bytes)
        fdatasync(fd)
        count += 1
    }
    return Double(count) / seconds(clock.now - start)
}

/// Sequential write bandwidth in MB/s: 1 MiB writes, one fdatasync per 16 MiB.
func rawBandwidth() -> Double {
    let path = runDirectory + "/raw-bandwidth"
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0, "cannot create \(path)")
    defer { close(fd); unlink(path) }
    let buffer = [UInt8](repeating: 0x42, count: 1 << 20)
    var written = 0
    let clock = ContinuousClock()
    let start = clock.now
    while clock.now - start < duration {
        for _ in 0..<16 { _ = buffer.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
        fdatasync(fd)
        written += 16 << 20
    }
    return Double(written) / seconds(clock.now - start) / 1e6
}

let baseline100 = rawFsyncRate(bytes: 100)
let baseline4K = rawFsyncRate(bytes: 4096)
let bandwidth = rawBandwidth()
print("Storage throughput on \(root) (\(secondsPerCase) s per case)")
print("baseline: raw append+fdatasync \(format(baseline100))/s (100 B), \(format(baseline4K))/s (4 KiB); sequential write \(format(bandwidth)) MB/s")
print("")
print("The disk's rates drift with other load, so each synced case is preceded by its own baselines:")
print("raw fsync/s: append of one entry's bytes + fdatasync, just before the case;")
print("vs fsync×batch: synced entries/s ÷ (raw fsync/s × batch);")
print("raw batch/s: append of the batch's bytes in one write + fdatasync, just before the case;")
print("vs raw batch: synced persists/s ÷ raw batch/s (1.0 = the store costs nothing beyond the disk);")
print("vs bound: synced entries/s ÷ batch / (1/raw fsync/s + batch/unsynced entries/s), i.e. what")
print("          one fsync plus the batch's measured unsynced write cost allows.")
print("")

// MARK: Raft log: persist(entries:hardState:) with batches of entries.

print("\(pad("entry", 6)) \(pad("batch", 6)) \(pad("sync", 5)) \(pad("entries/s", 11)) \(pad("persists/s", 11)) \(pad("fsyncs/s", 9)) \(pad("MB/s", 7)) \(pad("raw fsync/s", 12)) \(pad("vs fsync×batch", 15)) \(pad("raw batch/s", 12)) \(pad("vs raw batch", 13)) \(pad("vs bound", 9))")
var unsyncedRate: Double = 0
var caseNumber = 0
for size in entrySizes {
    for batch in [1, 64, 1024] {
        // Unsynced first: its cost per entry gives the synced case its bound.
        for sync in [false, true] {
            caseNumber += 1
            let rawFsync = sync ? rawFsyncRate(bytes: size) : 0
            let rawBatch = sync ? rawFsyncRate(bytes: size * batch) : 0
            let store = try RocksDBStore(path: runDirectory + "/log-\(caseNumber)", options: .init(syncWrites: sync))
            let payload = [UInt8](repeating: 0x61, count: size)
            var last: UInt64 = 0
            let clock = ContinuousClock()
            let before = store.statistics
            let start = clock.now
            while clock.now - start < duration {
                let entries = (last + 1...last + UInt64(batch)).map { Entry(term: 1, index: $0, data: payload) }
                last += UInt64(batch)
                try store.raft.persist(entries: entries, hardState: HardState(term: 1, vote: 1, commit: last), snapshot: nil)
            }
            let elapsed = seconds(clock.now - start)
            let after = store.statistics
            store.close()
            let entriesPerSecond = Double(last) / elapsed
            let persists = Double(after.writes - before.writes) / elapsed
            let fsyncs = Double(after.syncs - before.syncs) / elapsed
            let megabytes = Double(last) * Double(size) / elapsed / 1e6
            if !sync { unsyncedRate = entriesPerSecond }
            let bound = Double(batch) / (1 / rawFsync + Double(batch) / unsyncedRate)
            func percent(_ value: Double) -> String { sync ? String(format: "%.0f%%", 100 * value) : "-" }
            print("\(pad(size == 100 ? "100 B" : "4 KiB", 6)) \(pad(String(batch), 6)) \(pad(sync ? "yes" : "no", 5)) \(pad(format(entriesPerSecond), 11)) \(pad(format(persists), 11)) \(pad(format(fsyncs), 9)) \(pad(format(megabytes), 7)) \(pad(sync ? format(rawFsync) : "-", 12)) \(pad(percent(entriesPerSecond / (rawFsync * Double(batch))), 15)) \(pad(sync ? format(rawBatch) : "-", 12)) \(pad(percent(persists / rawBatch), 13)) \(pad(percent(entriesPerSecond / bound), 9))")
        }
    }
}
print("")

// MARK: Group commit: concurrent writers (100 B KV puts, synced) share fsyncs.

final class Counter: Sendable {
    let value = Atomic<Int>(0)
}

print("\(pad("writers", 8)) \(pad("writes/s", 10)) \(pad("fsyncs/s", 9)) \(pad("writes/fsync", 13))")
for writers in [1, 8, 64] {
    caseNumber += 1
    let store = try RocksDBStore(path: runDirectory + "/kv-\(caseNumber)")
    let keyValues = store.keyValues
    let written = Counter()
    let group = DispatchGroup()
    let before = store.statistics
    let clock = ContinuousClock()
    let start = clock.now
    let deadline = start + duration
    for writer in 0..<writers {
        group.enter()
        let thread = Thread {
            var count = 0
            while ContinuousClock().now < deadline {
                do {
                    try keyValues.put(Array("w\(writer)/\(count)".utf8), [UInt8](repeating: 0x62, count: 100))
                } catch {
                    fatalError("write failed: \(error)")
                }
                count += 1
            }
            written.value.add(count, ordering: .relaxed)
            group.leave()
        }
        thread.start()
    }
    group.wait()
    let elapsed = seconds(clock.now - start)
    let after = store.statistics
    store.close()
    let writes = Double(written.value.load(ordering: .relaxed)) / elapsed
    let fsyncs = Double(after.syncs - before.syncs) / elapsed
    print("\(pad(String(writers), 8)) \(pad(format(writes), 10)) \(pad(format(fsyncs), 9)) \(pad(format(writes / max(fsyncs, 1)), 13))")
}

// The disk's fsync rate drifts with other load; measure it again to bracket the run.
print("")
print("baseline again at the end: raw append+fdatasync \(format(rawFsyncRate(bytes: 100)))/s (100 B), \(format(rawFsyncRate(bytes: 4096)))/s (4 KiB); sequential write \(format(rawBandwidth())) MB/s")
