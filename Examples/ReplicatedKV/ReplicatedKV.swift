import RaftCore

/// A three-replica key-value store on RaftCore, in one process: elects a
/// leader, replicates writes, serves linearizable reads from a follower,
/// hands leadership over, and compacts its log into a snapshot.
@main
struct ReplicatedKV {
    static func main() throws {
        var cluster = try Cluster(ids: [1, 2, 3])
        let first = cluster.awaitLeader()
        print("replica \(first) leads term \(cluster.replicas[first]!.raft.term)")

        try cluster.write(.set(key: "region", value: "eu-west"))
        try cluster.write(.set(key: "dataset", value: "s3://weather/2026"))
        try cluster.write(.delete(key: "region"))
        let follower = [1, 2, 3].first { $0 != first }!
        print("read at follower \(follower): dataset = \(try cluster.read("dataset", at: follower) ?? "nil"), region = \(try cluster.read("region", at: follower) ?? "nil")")

        let target = [1, 2, 3].last { $0 != first }!
        try cluster.replicas[first]!.raft.transferLeadership(to: target)
        while cluster.leader != target { cluster.tick() }
        print("leadership moved from \(first) to \(target) (term \(cluster.replicas[target]!.raft.term))")

        for i in 1...1000 { try cluster.write(.set(key: "counter", value: "\(i)")) }
        try cluster.compact(target)
        print("1000 more writes; replica \(target) compacted its log to a snapshot at \(cluster.replicas[target]!.storage.snapshotIndex)")
        for id in [1, 2, 3] as [NodeID] {
            let r = cluster.replicas[id]!
            print("  replica \(id): \(r.raft.role), applied \(r.store.appliedIndex), counter = \(r.store.values["counter"] ?? "nil")")
        }
    }
}

extension MemoryStorage {
    var snapshotIndex: UInt64 { (try? snapshot().metadata.index) ?? 0 }
}
