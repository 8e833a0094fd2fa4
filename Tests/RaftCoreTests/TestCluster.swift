@testable import RaftCore

/// A hand-driven cluster for unit tests: messages move only when a test says
/// so, which makes each rule of the paper observable step by step.
struct TestCluster {
    var nodes: [NodeID: RaftNode] = [:]
    var storages: [NodeID: MemoryStorage] = [:]
    /// Messages sent and not yet delivered, in order.
    var outbox: [Message] = []
    /// Nodes whose messages, both ways, are dropped.
    var isolated: Set<NodeID> = []
    /// Every committed entry each node applied.
    var applied: [NodeID: [Entry]] = [:]
    var readStates: [NodeID: [ReadState]] = [:]
    var refusedProposals: [NodeID: [RefusedProposal]] = [:]
    var configure: (inout RaftConfig) -> Void

    init(voters: Int, configure: @escaping (inout RaftConfig) -> Void = { _ in }) {
        self.configure = configure
        let ids = (1...voters).map { NodeID($0) }
        for id in ids { add(id, storage: MemoryStorage(bootstrapping: ids)) }
    }

    mutating func add(_ id: NodeID, storage: MemoryStorage) {
        storages[id] = storage
        var config = RaftConfig(id: id, seed: 42)
        configure(&config)
        nodes[id] = try! RaftNode(config: config, storage: storage)
        applied[id] = applied[id] ?? []
    }

    /// Restarts `id` from its storage, as after a crash.
    mutating func restart(_ id: NodeID) {
        add(id, storage: storages[id]!)
    }

    subscript(id: NodeID) -> RaftNode {
        get { nodes[id]! }
        set { nodes[id] = newValue }
    }

    /// Handles every pending Ready: persist, queue messages, apply.
    mutating func flush() {
        for id in nodes.keys.sorted() {
            while nodes[id]!.hasReady {
                let rd = nodes[id]!.ready()
                let storage = storages[id]!
                if let snapshot = rd.snapshot { storage.applySnapshot(snapshot) }
                storage.append(rd.entries)
                if let hard = rd.hardState { storage.setHardState(hard) }
                outbox += rd.messages
                applied[id]! += rd.committedEntries
                readStates[id, default: []] += rd.readStates
                refusedProposals[id, default: []] += rd.refusedProposals
                nodes[id]!.advance(rd)
            }
        }
    }

    /// Delivers messages (and those they cause) until the network is quiet,
    /// or `limit` deliveries happened. `filter` may drop a message by returning false.
    @discardableResult
    mutating func stabilize(limit: Int = 10_000, filter: (Message) -> Bool = { _ in true }) -> [Message] {
        var delivered: [Message] = []
        flush()
        while !outbox.isEmpty && delivered.count < limit {
            let m = outbox.removeFirst()
            guard !isolated.contains(m.from), !isolated.contains(m.to), nodes[m.to] != nil, filter(m) else { continue }
            delivered.append(m)
            nodes[m.to]!.step(m)
            flush()
        }
        return delivered
    }

    /// Ticks `id` until it campaigns, then lets the election play out.
    mutating func elect(_ id: NodeID) {
        nodes[id]!.campaign()
        stabilize()
    }

    /// Makes `id` campaign at once, past any leases (as a transfer target does).
    mutating func forceElect(_ id: NodeID) {
        nodes[id]!.campaign(transfer: true)
        stabilize()
    }

    /// Ticks every node `times` times, stabilizing after each; returns what was delivered.
    @discardableResult
    mutating func tickAll(_ times: Int = 1, filter: (Message) -> Bool = { _ in true }) -> [Message] {
        var delivered: [Message] = []
        for _ in 0..<times {
            for id in nodes.keys.sorted() { nodes[id]!.tick() }
            delivered += stabilize(filter: filter)
        }
        return delivered
    }

    var leaders: [NodeID] { nodes.keys.sorted().filter { nodes[$0]!.role == .leader } }

    /// Payloads of the normal, non-empty entries `id` applied.
    func appliedData(_ id: NodeID) -> [[UInt8]] {
        applied[id]!.filter { $0.kind == .normal && !$0.data.isEmpty }.map(\.data)
    }
}
