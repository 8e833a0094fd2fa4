import RaftCore

/// Three replicas in one process. The "network" is a queue of messages and
/// the "disk" a `MemoryStorage`: the shape of any RaftCore embedding, where a
/// real program would write to disk and send over sockets instead.
struct Cluster {
    struct Replica {
        var raft: RaftNode
        let storage: MemoryStorage
        var store = KeyValueStore()
        var reads: [ReadState] = []
    }

    var replicas: [NodeID: Replica] = [:]
    private var network: [Message] = []

    init(ids: [NodeID]) throws {
        for id in ids {
            let storage = MemoryStorage(bootstrapping: ids)
            let raft = try RaftNode(config: RaftConfig(id: id, seed: 2026), storage: storage)
            replicas[id] = Replica(raft: raft, storage: storage)
        }
    }

    var leader: NodeID? { replicas.values.first { $0.raft.role == .leader }?.raft.id }

    /// One unit of time: every replica ticks, then all work settles.
    mutating func tick() {
        for id in replicas.keys.sorted() { replicas[id]!.raft.tick() }
        settle()
    }

    /// Runs the Ready loop and delivers messages until nothing is left to do.
    mutating func settle() {
        repeat {
            for id in replicas.keys.sorted() { handleReady(id) }
            let inFlight = network
            network = []
            for message in inFlight { replicas[message.to]?.raft.step(message) }
        } while !network.isEmpty || replicas.values.contains { $0.raft.hasReady }
    }

    /// The contract of `Ready`: persist, send, apply, advance.
    private mutating func handleReady(_ id: NodeID) {
        guard replicas[id]!.raft.hasReady else { return }
        var replica = replicas[id]!
        let ready = replica.raft.ready()
        if let snapshot = ready.snapshot {
            replica.storage.applySnapshot(snapshot)
            replica.store.restore(snapshot)
        }
        replica.storage.append(ready.entries)
        if let hardState = ready.hardState { replica.storage.setHardState(hardState) }
        network += ready.messages
        for entry in ready.committedEntries { replica.store.apply(entry) }
        replica.reads += ready.readStates
        replica.raft.advance(ready)
        replicas[id] = replica
    }

    /// Ticks until some replica leads.
    mutating func awaitLeader() -> NodeID {
        while leader == nil { tick() }
        return leader!
    }

    /// Proposes through the leader and waits until the command is applied there.
    mutating func write(_ command: KeyValueStore.Command) throws {
        let leaderID = awaitLeader()
        let position = try replicas[leaderID]!.raft.propose(command.encoded)
        while replicas[leaderID]!.store.appliedIndex < position.index { tick() }
    }

    /// A linearizable read served by `replica`, leader or not (ReadIndex).
    mutating func read(_ key: String, at replica: NodeID) throws -> String? {
        let context = Array("read-\(key)-\(replicas[replica]!.raft.commitIndex)".utf8)
        try replicas[replica]!.raft.readIndex(context: context)
        settle()
        while !replicas[replica]!.reads.contains(where: { $0.context == context }) { tick() }
        let state = replicas[replica]!.reads.first { $0.context == context }!
        replicas[replica]!.reads.removeAll { $0.context == context }
        while replicas[replica]!.store.appliedIndex < state.index { tick() }
        return replicas[replica]!.store.values[key]
    }

    /// Snapshots `replica`'s state and compacts its log.
    mutating func compact(_ replica: NodeID) throws {
        let r = replicas[replica]!
        let index = r.store.appliedIndex
        try r.storage.createSnapshot(index: index, confState: r.raft.confState(atIndex: index)!, data: r.store.snapshotData())
        try r.storage.compact(through: index)
    }
}
