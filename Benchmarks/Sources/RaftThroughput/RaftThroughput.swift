import RaftCore

/// Entries committed and applied per second through a three-replica group
/// driven by the pure core: no disk, no network, messages handed over in
/// memory. Measures RaftCore's own cost per entry, and how batching amortizes it.
///
///     cd Benchmarks && swift run -c release RaftThroughput [entries] [payload-bytes]
@main
struct RaftThroughput {
    struct Group {
        var nodes: [RaftNode]
        let storages: [MemoryStorage]
        var applied: [UInt64]
        var network: [Message] = []

        init() throws {
            let ids: [NodeID] = [1, 2, 3]
            storages = ids.map { _ in MemoryStorage(bootstrapping: ids) }
            nodes = []
            for (i, id) in ids.enumerated() {
                var config = RaftConfig(id: id, seed: 7)
                config.maxEntriesPerMessage = 8192
                config.maxSizePerMessage = 8 << 20
                config.maxUncommittedBytes = 0
                nodes.append(try RaftNode(config: config, storage: storages[i]))
            }
            applied = [0, 0, 0]
            nodes[0].campaign()
            settle()
        }

        mutating func settle() {
            repeat {
                for i in nodes.indices where nodes[i].hasReady {
                    let rd = nodes[i].ready()
                    if let snapshot = rd.snapshot { storages[i].applySnapshot(snapshot) }
                    storages[i].append(rd.entries)
                    if let hard = rd.hardState { storages[i].setHardState(hard) }
                    network += rd.messages
                    if let last = rd.committedEntries.last { applied[i] = last.index }
                    nodes[i].advance(rd)
                }
                let inFlight = network
                network = []
                for m in inFlight { nodes[Int(m.to) - 1].step(m) }
            } while !network.isEmpty || nodes.contains { $0.hasReady }
        }

        /// Keeps memory flat: snapshot and compact every replica's log.
        mutating func compact() throws {
            for i in nodes.indices {
                let index = applied[i]
                if index > (try storages[i].snapshot().metadata.index) + 1 {
                    try storages[i].createSnapshot(index: index, confState: nodes[i].confState(atIndex: index)!, data: [])
                    try storages[i].compact(through: index)
                }
            }
        }
    }

    static func measure(batch: Int, entries: Int, payload: [UInt8]) throws -> Double {
        var group = try Group()
        let proposals = [[UInt8]](repeating: payload, count: batch)
        let clock = ContinuousClock()
        let target = group.nodes[0].lastIndex + UInt64(entries)
        let elapsed = try clock.measure {
            var rounds = 0
            while group.applied.min()! < target {
                try group.nodes[0].propose(batch: proposals)
                group.settle()
                rounds += 1
                if rounds % 64 == 0 { try group.compact() }
            }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Double(entries) / seconds
    }

    /// The floor: the same entries appended to three in-memory logs, no consensus.
    static func baseline(entries: Int, payload: [UInt8]) -> Double {
        let storages = (0..<3).map { _ in MemoryStorage() }
        let clock = ContinuousClock()
        let batch = 1024
        let elapsed = clock.measure {
            var index: UInt64 = 1
            while index <= UInt64(entries) {
                let chunk = (0..<batch).map { Entry(term: 1, index: index + UInt64($0), data: payload) }
                for storage in storages { storage.append(chunk) }
                index += UInt64(batch)
            }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Double(entries) / seconds
    }

    static func main() throws {
        let arguments = CommandLine.arguments
        let entries = arguments.count > 1 ? Int(arguments[1]) ?? 2_000_000 : 2_000_000
        let size = arguments.count > 2 ? Int(arguments[2]) ?? 64 : 64
        let payload = [UInt8](repeating: 0x42, count: size)
        let floor = baseline(entries: entries, payload: payload)
        print("raft-throughput: 3 replicas, in memory, \(size)-byte entries")
        print("  baseline (3 plain log appends, no consensus): \(Int(floor)) entries/s")
        for batch in [1, 64, 1024] {
            let count = batch == 1 ? min(entries, 200_000) : entries
            let rate = try measure(batch: batch, entries: count, payload: payload)
            let ratio = Double(Int(rate / floor * 100)) / 100
            print("  batch \(batch): \(Int(rate)) entries/s committed and applied on all 3 (\(ratio)× baseline)")
        }
    }
}
