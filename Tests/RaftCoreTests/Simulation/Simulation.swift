@testable import RaftCore

/// A deterministic cluster: replicas, a faulty network, crashes, membership
/// changes, transfers, snapshots and clients, all driven by one seed. Every
/// step ends with a check of Raft's safety properties; a run ends by healing
/// every fault and requiring that a leader emerges and a proposal commits.
struct Simulation {
    /// One replica and what survives its crashes.
    struct Replica {
        let id: NodeID
        /// Persisted state: survives a crash.
        let storage: MemoryStorage
        var raft: RaftNode?
        /// The application: a digest of every applied entry, in order.
        var appliedIndex: UInt64 = 0
        var digest: UInt64 = 0
        var restarts: UInt64 = 0
        /// A Ready whose writes are under way (with `slowWrites`); a crash loses them.
        var writing: Ready?
        /// Its messages that wait for the writes.
        var held: [Message] = []
        var isUp: Bool { raft != nil }
    }

    struct InFlight {
        var deliverAt: Int
        var order: UInt64
        var message: Message
    }

    let seed: UInt64
    let steps: Int
    let faults: SimulationFaults
    var rng: SeededGenerator
    var replicas: [NodeID: Replica] = [:]
    var network: [InFlight] = []
    var sendOrder: UInt64 = 0
    /// Directed links that deliver nothing.
    var cut: Set<[NodeID]> = []
    var now = 0
    var nextNodeID: NodeID
    let maxNodes: Int
    var healed = false

    // What the checks remember.
    var leaderOfTerm: [UInt64: NodeID] = [:]
    /// (index, term) → (entry digest, term of the previous entry): log matching.
    var entryAt: [LogPosition: (digest: UInt64, previousTerm: UInt64)] = [:]
    /// index → (term, state digest after applying it): state machine safety.
    var appliedAt: [UInt64: (term: UInt64, digest: UInt64)] = [:]
    var maxAppliedIndex: UInt64 = 0
    var nextPayload: UInt64 = 1
    var proposed: Set<UInt64> = []
    var appliedPayloadIndex: [UInt64: UInt64] = [:]
    /// Proposals whose proposer applied them: acknowledged to the client.
    var pending: [UInt64: (node: NodeID, position: LogPosition)] = [:]
    var acknowledged: [UInt64: LogPosition] = [:]
    /// index → the payload acknowledged there: every replica must apply exactly it.
    var acknowledgedAt: [UInt64: UInt64] = [:]
    var maxAcknowledgedIndex: UInt64 = 0
    /// Read context → highest acknowledged index when the read was requested.
    var reads: [UInt64: UInt64] = [:]
    var persistedCommit: [NodeID: UInt64] = [:]

    var violations: [String] = []
    var stats = Stats()

    struct Stats {
        var proposals = 0, committed = 0, elections = 0, crashes = 0, snapshotsSent = 0
        var confChanges = 0, transfers = 0, reads = 0, backpressure = 0
    }

    init(seed: UInt64, steps: Int) {
        self.seed = seed
        self.steps = steps
        rng = SeededGenerator(seed: seed)
        faults = SimulationFaults(rng: &rng)
        let size = [3, 5, 7][Int(seed % 3)]
        maxNodes = size + 2
        nextNodeID = NodeID(size + 1)
        let voters = (1...size).map { NodeID($0) }
        for id in voters {
            let storage = MemoryStorage(bootstrapping: voters)
            replicas[id] = Replica(id: id, storage: storage)
            start(id)
        }
    }

    func raftConfig(for id: NodeID, applied: UInt64, restarts: UInt64) -> RaftConfig {
        var config = RaftConfig(id: id, seed: seed &+ restarts &* 7919)
        config.electionTick = 10
        config.heartbeatTick = 1
        config.maxSizePerMessage = 256
        config.maxEntriesPerMessage = 8
        config.maxInflightMessages = 4
        config.maxUncommittedBytes = faults.maxUncommittedBytes
        config.snapshotChunkBytes = 16
        config.maxInflightSnapshotChunks = 2
        config.readOnlyOption = faults.readOnly
        config.applied = applied
        return config
    }

    // MARK: Running

    /// Runs every step, then the liveness phase; returns the violations found.
    mutating func run() -> [String] {
        for _ in 0..<steps {
            step()
            if !violations.isEmpty { return violations }
        }
        checkLiveness()
        return violations
    }

    mutating func chance(_ p: Double) -> Bool {
        p > 0 && Double(rng.next() % 1_000_000) < p * 1_000_000
    }

    mutating func pick<T>(_ items: [T]) -> T? {
        items.isEmpty ? nil : items[Int(rng.next() % UInt64(items.count))]
    }

    var upIDs: [NodeID] { replicas.keys.sorted().filter { replicas[$0]!.isUp } }
    var leaders: [NodeID] { upIDs.filter { replicas[$0]!.raft!.role == .leader } }

    mutating func step() {
        now += 1
        if !healed { injectFaults() }
        if chance(0.4) { propose() }
        if chance(0.05) { requestRead() }
        deliverDue()
        for id in upIDs { replicas[id]!.raft!.tick() }
        processReadies()
        checkStepInvariants()
    }

    mutating func injectFaults() {
        if chance(faults.crashRate), let id = pick(upIDs) { crash(id) }
        if let down = pick(replicas.keys.sorted().filter({ !replicas[$0]!.isUp })), chance(0.05) { start(down) }
        if chance(faults.partitionRate) { partition() }
        if !cut.isEmpty && chance(0.03) { cut.removeAll() }
        if chance(faults.membershipRate) { changeMembership() }
        if chance(faults.transferRate), let leader = pick(leaders) {
            let target = chance(0.5) ? nil : pick(replicas[leader]!.raft!.confState.voters)
            if (try? replicas[leader]!.raft!.transferLeadership(to: target)) != nil { stats.transfers += 1 }
        }
        if chance(faults.snapshotRate), let id = pick(upIDs) { takeSnapshot(id) }
    }

    // MARK: Faults

    mutating func crash(_ id: NodeID) {
        replicas[id]!.raft = nil
        replicas[id]!.writing = nil
        replicas[id]!.held = []
        stats.crashes += 1
    }

    /// Starts (or restarts) a replica from what its storage persisted; the
    /// application state is rebuilt from the stored snapshot.
    mutating func start(_ id: NodeID) {
        var replica = replicas[id]!
        let snapshot = try! replica.storage.snapshot()
        (replica.appliedIndex, replica.digest) = Self.decodeState(snapshot.data, index: snapshot.metadata.index)
        replica.restarts += 1
        do {
            replica.raft = try RaftNode(
                config: raftConfig(for: id, applied: replica.appliedIndex, restarts: replica.restarts),
                storage: replica.storage
            )
        } catch {
            violations.append("replica \(id) failed to restart: \(error)")
        }
        replicas[id] = replica
        if let commit = replica.raft?.commitIndex, commit < persistedCommit[id] ?? 0 {
            violations.append("replica \(id) restarted with commit \(commit) below persisted \(persistedCommit[id]!)")
        }
    }

    mutating func partition() {
        let ids = replicas.keys.sorted()
        switch rng.next() % 3 {
        case 0:  // isolate one node both ways
            guard let victim = pick(ids) else { return }
            for other in ids where other != victim {
                cut.insert([victim, other])
                cut.insert([other, victim])
            }
        case 1:  // split into two groups
            var shuffled = ids
            shuffled.shuffle(using: &rng)
            let half = shuffled.count / 2
            for a in shuffled[..<half] {
                for b in shuffled[half...] {
                    cut.insert([a, b])
                    cut.insert([b, a])
                }
            }
        default:  // one-way: one node hears nobody (or nobody hears it)
            guard let victim = pick(ids) else { return }
            let inbound = rng.next() % 2 == 0
            for other in ids where other != victim {
                cut.insert(inbound ? [other, victim] : [victim, other])
            }
        }
    }

    mutating func changeMembership() {
        guard let leaderID = pick(leaders) else { return }
        let conf = replicas[leaderID]!.raft!.confState
        var change: ConfChange?
        switch rng.next() % 3 {
        case 0 where replicas.count < maxNodes:
            let newID = nextNodeID
            nextNodeID += 1
            replicas[newID] = Replica(id: newID, storage: MemoryStorage())
            start(newID)
            change = ConfChange(.addLearner, newID)
        case 1:
            if let learner = pick(conf.learners) { change = ConfChange(.addVoter, learner) }
        default:
            if conf.voters.count > 3, let voter = pick(conf.voters) {
                change = ConfChange(.removeNode, voter)
            } else if let learner = pick(conf.learners) {
                change = ConfChange(.removeNode, learner)
            }
        }
        guard let change else { return }
        if (try? replicas[leaderID]!.raft!.proposeConfChange(change)) != nil { stats.confChanges += 1 }
    }

    mutating func takeSnapshot(_ id: NodeID) {
        let replica = replicas[id]!
        let raft = replica.raft!
        let index = replica.appliedIndex
        let stored = try! replica.storage.snapshot().metadata.index
        guard index > stored, let conf = raft.confState(atIndex: index) else { return }
        do {
            try replica.storage.createSnapshot(index: index, confState: conf, data: Self.encodeState(index: index, digest: replica.digest))
            // Sometimes keep a few entries for slow followers, sometimes none.
            let keep = rng.next() % 2 == 0 ? 0 : min(index - stored - 1, 3)
            try replica.storage.compact(through: index - keep)
        } catch {
            violations.append("replica \(id) failed to snapshot at \(index): \(error)")
        }
    }

    // MARK: Clients

    mutating func propose() {
        guard let id = pick(chance(0.9) ? leaders : upIDs) else { return }
        let payload = nextPayload
        nextPayload += 1
        var data = withUnsafeBytes(of: payload.littleEndian) { Array($0) }
        if rng.next() % 4 == 0 { data += [UInt8](repeating: 0xAB, count: Int(rng.next() % 40)) }
        do {
            let position = try replicas[id]!.raft!.propose(data)
            proposed.insert(payload)
            pending[payload] = (id, position)
            stats.proposals += 1
        } catch .proposalQueueFull {
            stats.backpressure += 1
        } catch .notLeader, .leadershipTransferInProgress {
        } catch {
            violations.append("propose on \(id) failed unexpectedly: \(error)")
        }
    }

    mutating func requestRead() {
        guard let id = pick(upIDs) else { return }
        let context = nextPayload
        nextPayload += 1
        do {
            try replicas[id]!.raft!.readIndex(context: withUnsafeBytes(of: context.littleEndian) { Array($0) })
            reads[context] = maxAcknowledgedIndex
        } catch {}
    }

    // MARK: Network

    mutating func send(_ message: Message) {
        if healed {
            sendOrder += 1
            network.append(InFlight(deliverAt: now + 1, order: sendOrder, message: message))
            return
        }
        if chance(faults.dropRate) { return }
        let copies = chance(faults.duplicateRate) ? 2 : 1
        for _ in 0..<copies {
            let delay = faults.maxDelay == 0 ? 0 : Int(rng.next() % UInt64(faults.maxDelay + 1))
            sendOrder += 1
            network.append(InFlight(deliverAt: now + delay, order: rng.next(), message: message))
        }
    }

    mutating func deliverDue() {
        guard !network.isEmpty else { return }
        var due: [InFlight] = []
        var later: [InFlight] = []
        for item in network {
            if item.deliverAt <= now { due.append(item) } else { later.append(item) }
        }
        network = later
        due.sort { ($0.deliverAt, $0.order) < ($1.deliverAt, $1.order) }
        for item in due {
            let m = item.message
            if cut.contains([m.from, m.to]) { continue }
            guard replicas[m.to]?.isUp == true else { continue }
            replicas[m.to]!.raft!.step(m)
        }
    }

    // MARK: Ready

    mutating func processReadies() {
        guard !faults.slowWrites else {
            // Each write completes with some chance per step; meanwhile the
            // replica steps messages, ticks and proposals.
            for id in upIDs {
                if replicas[id]!.writing != nil {
                    guard chance(0.5) else { continue }
                    finishReady(id)
                    if !violations.isEmpty { return }
                }
                if replicas[id]!.raft!.hasReady { beginReady(id) }
            }
            return
        }
        for id in upIDs {
            var rounds = 0
            while replicas[id]!.raft!.hasReady && rounds < 8 {
                rounds += 1
                handleReady(id)
                if !violations.isEmpty { return }
            }
        }
    }

    mutating func handleReady(_ id: NodeID) {
        var raft = replicas[id]!.raft!
        replicas[id]!.raft = nil  // keep `raft` uniquely referenced while we work
        let rd = raft.ready()
        if let soft = rd.softState, soft.role == .leader {
            stats.elections += 1
            checkLeaderCompleteness(id, raft)
        }
        complete(rd, messages: rd.messages, on: id, raft: &raft)
        replicas[id]!.raft = raft
    }

    /// Takes a Ready and starts its writes; sends what need not wait for
    /// them (`Ready.messagesByWrite`), as the Raft driver does.
    mutating func beginReady(_ id: NodeID) {
        var raft = replicas[id]!.raft!
        replicas[id]!.raft = nil
        let rd = raft.ready()
        if let soft = rd.softState, soft.role == .leader {
            stats.elections += 1
            checkLeaderCompleteness(id, raft)
        }
        let (early, held) = rd.messagesByWrite
        for m in early { send(m) }
        replicas[id]!.raft = raft
        replicas[id]!.writing = rd
        replicas[id]!.held = held
    }

    mutating func finishReady(_ id: NodeID) {
        var raft = replicas[id]!.raft!
        replicas[id]!.raft = nil
        let rd = replicas[id]!.writing!
        let held = replicas[id]!.held
        replicas[id]!.writing = nil
        replicas[id]!.held = []
        complete(rd, messages: held, on: id, raft: &raft)
        replicas[id]!.raft = raft
    }

    /// Persists `rd`, sends `messages`, applies and advances.
    mutating func complete(_ rd: Ready, messages: [Message], on id: NodeID, raft: inout RaftNode) {
        let storage = replicas[id]!.storage
        // 1. Persist.
        if let snapshot = rd.snapshot { storage.applySnapshot(snapshot) }
        if !rd.entries.isEmpty {
            storage.append(rd.entries)
            checkLogMatching(id, rd.entries, storage)
        }
        if let hard = rd.hardState {
            if hard.commit < (persistedCommit[id] ?? 0) {
                violations.append("replica \(id) commit went back from \(persistedCommit[id]!) to \(hard.commit)")
            }
            storage.setHardState(hard)
            persistedCommit[id] = hard.commit
        }
        // 2. Send.
        for m in messages {
            if m.type == .snapshot && m.snapshot?.offset == 0 { stats.snapshotsSent += 1 }
            send(m)
        }
        // 3. Apply.
        if let snapshot = rd.snapshot {
            let (index, digest) = Self.decodeState(snapshot.data, index: snapshot.metadata.index)
            replicas[id]!.appliedIndex = index
            replicas[id]!.digest = digest
            if let known = appliedAt[index], known.digest != digest {
                violations.append("replica \(id) installed a snapshot at \(index) whose state differs from what others applied")
            }
        }
        for entry in rd.committedEntries { apply(entry, on: id) }
        for read in rd.readStates { checkRead(read, on: id) }
        raft.advance(rd)
    }

    mutating func apply(_ entry: Entry, on id: NodeID) {
        var replica = replicas[id]!
        guard entry.index == replica.appliedIndex + 1 else {
            violations.append("replica \(id) applied \(entry.index) after \(replica.appliedIndex)")
            return
        }
        replica.appliedIndex = entry.index
        replica.digest = Self.mix(replica.digest, Self.entryDigest(entry))
        replicas[id] = replica
        if let known = appliedAt[entry.index] {
            if known.term != entry.term || known.digest != replica.digest {
                violations.append("replica \(id) applied a different entry at \(entry.index) (term \(entry.term), another applied term \(known.term))")
            }
        } else {
            appliedAt[entry.index] = (entry.term, replica.digest)
            maxAppliedIndex = max(maxAppliedIndex, entry.index)
            stats.committed += 1
        }
        guard entry.kind == .normal, entry.data.count >= 8 else { return }
        let payload = entry.data.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
        if !proposed.contains(payload) {
            violations.append("replica \(id) applied payload \(payload) at \(entry.index), never proposed")
        }
        if let at = appliedPayloadIndex[payload], at != entry.index {
            violations.append("payload \(payload) applied twice, at \(at) and \(entry.index)")
        }
        appliedPayloadIndex[payload] = entry.index
        if let promised = acknowledgedAt[entry.index], promised != payload {
            violations.append("replica \(id) applied payload \(payload) at \(entry.index), where payload \(promised) was acknowledged")
        }
        if let proposal = pending[payload], proposal.node == id, proposal.position == LogPosition(index: entry.index, term: entry.term) {
            pending[payload] = nil
            acknowledged[payload] = proposal.position
            acknowledgedAt[entry.index] = payload
            maxAcknowledgedIndex = max(maxAcknowledgedIndex, entry.index)
        }
    }

    // MARK: Checks

    mutating func checkStepInvariants() {
        for id in leaders {
            let term = replicas[id]!.raft!.term
            if let other = leaderOfTerm[term], other != id {
                violations.append("two leaders in term \(term): \(other) and \(id)")
            }
            leaderOfTerm[term] = id
        }
        for id in upIDs {
            let raft = replicas[id]!.raft!
            if raft.commitIndex < (persistedCommit[id] ?? 0) {
                violations.append("replica \(id) commit index \(raft.commitIndex) below persisted \(persistedCommit[id]!)")
            }
        }
    }

    mutating func checkLogMatching(_ id: NodeID, _ entries: [Entry], _ storage: MemoryStorage) {
        for entry in entries {
            let previousTerm = (try? storage.term(at: entry.index - 1)) ?? UInt64.max
            let digest = Self.entryDigest(entry)
            let position = LogPosition(index: entry.index, term: entry.term)
            if let known = entryAt[position] {
                if known.digest != digest {
                    violations.append("log matching: replica \(id) holds a different entry at index \(entry.index) term \(entry.term)")
                } else if known.previousTerm != previousTerm && previousTerm != .max && known.previousTerm != .max {
                    violations.append("log matching: replica \(id) entry \(entry.index)/\(entry.term) follows term \(previousTerm), another follows \(known.previousTerm)")
                }
            } else {
                entryAt[position] = (digest, previousTerm)
            }
        }
    }

    /// Every entry anyone applied must be in a new leader's log (§5.4).
    mutating func checkLeaderCompleteness(_ id: NodeID, _ raft: RaftNode) {
        if raft.lastIndex < maxAppliedIndex {
            violations.append("leader \(id) of term \(raft.term) lacks committed entries: last \(raft.lastIndex) < \(maxAppliedIndex)")
            return
        }
        let first = raft.firstIndex
        for (index, known) in appliedAt where index >= first {
            let term = raft.log.termOrZero(index)
            if term != known.term {
                violations.append("leader \(id) of term \(raft.term) holds term \(term) at committed index \(index) (committed term \(known.term))")
                return
            }
        }
    }

    mutating func checkRead(_ read: ReadState, on id: NodeID) {
        stats.reads += 1
        let context = read.context.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
        guard let floor = reads[context] else { return }
        if read.index < floor {
            violations.append("read \(context) on \(id) got index \(read.index), below \(floor) acknowledged before it was requested")
        }
    }

    /// Heals every fault, then requires a leader and a committed proposal within a bound.
    mutating func checkLiveness() {
        healed = true
        cut.removeAll()
        for id in replicas.keys.sorted() where !replicas[id]!.isUp { start(id) }
        let bound = 400
        var payload: UInt64?
        var proposedIn: UInt64 = 0
        for _ in 0..<bound {
            step()
            if !violations.isEmpty { return }
            if let p = payload, appliedPayloadIndex[p] == nil, let leaderID = leaders.first,
               replicas[leaderID]!.raft!.term > proposedIn {
                payload = nil  // a later leader replaced it: a client would retry
            }
            if payload == nil, let leaderID = leaders.first {
                proposedIn = replicas[leaderID]!.raft!.term
                let p = nextPayload
                nextPayload += 1
                if let position = try? replicas[leaderID]!.raft!.propose(withUnsafeBytes(of: p.littleEndian) { Array($0) }) {
                    proposed.insert(p)
                    pending[p] = (leaderID, position)
                    payload = p
                }
            }
            if let p = payload, let index = appliedPayloadIndex[p], let leaderID = leaders.first {
                let voters = replicas[leaderID]!.raft!.confState.voters
                if voters.allSatisfy({ (replicas[$0]?.appliedIndex ?? 0) >= index }) { return }
            }
        }
        let leaderList = leaders.map { "\($0)@\(replicas[$0]!.raft!.term)" }
        violations.append("liveness: \(bound) steps after healing, \(payload == nil ? "no leader accepted a proposal" : "the proposal was not applied by every voter") (leaders: \(leaderList))\n" + describe())
    }

    /// Every replica's state, for a failure report.
    func describe() -> String {
        var lines: [String] = []
        for id in replicas.keys.sorted() {
            let replica = replicas[id]!
            guard let raft = replica.raft else {
                lines.append("  \(id): down")
                continue
            }
            var line = "  \(id): \(raft.role) term=\(raft.term) leader=\(raft.leader) commit=\(raft.commitIndex) applied=\(replica.appliedIndex) "
                + "log=\(raft.firstIndex)...\(raft.lastIndex) voters=\(raft.confState.voters) learners=\(raft.confState.learners) transferee=\(raft.leadTransferee)"
            if raft.role == .leader {
                for member in raft.confState.members where member != id {
                    if let pr = raft.progress(of: member) {
                        line += "\n     -> \(member): \(pr.state) match=\(pr.match) next=\(pr.next) paused=\(pr.isPaused) active=\(pr.recentActive) inflight=\(pr.inflights.count)"
                    }
                }
                line += " uncommitted=\(raft.uncommittedBytes)"
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    // MARK: Encoding

    static func entryDigest(_ entry: Entry) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(entry.kind.rawValue)
        for byte in entry.data { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return h
    }

    static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var z = a ^ (b &+ 0x9E37_79B9_7F4A_7C15 &+ (a << 6) &+ (a >> 2))
        z = (z ^ (z >> 31)) &* 0xBF58_476D_1CE4_E5B9
        return z
    }

    static func encodeState(index: UInt64, digest: UInt64) -> [UInt8] {
        withUnsafeBytes(of: index.littleEndian) { Array($0) } + withUnsafeBytes(of: digest.littleEndian) { Array($0) }
    }

    static func decodeState(_ data: [UInt8], index: UInt64) -> (UInt64, UInt64) {
        guard data.count == 16 else { return (index, 0) }
        let i = data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self) }.littleEndian
        let d = data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self) }.littleEndian
        return (i, d)
    }
}
