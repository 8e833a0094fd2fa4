import NIOCore
import NIOPosix
import RaftCore
import Storage

/// Why a replicated write or read did not complete.
public enum RaftDriverError: Error, Sendable, Equatable {
    /// This server does not lead; `leader` is the one it knows of (0 if none).
    case notLeader(leader: NodeID)
    /// Too much is waiting to commit; retry after `retryAfterMilliseconds`.
    case overloaded(retryAfterMilliseconds: Int)
    /// The entry was replaced by a new leader's before it committed; it may be retried.
    case dropped
    /// The log could not be written; this server stops accepting writes. The text says why.
    case storageFailed(String)
    /// The driver was stopped.
    case stopped
    /// RaftCore refused the request; the text says why.
    case rejected(String)
    /// A write forwarded to the leader may or may not have committed; the
    /// text says why it is not known. Read the state before retrying it.
    case outcomeUnknown(String)
}

/// Runs one RaftCore replica: ticks it, feeds it messages and proposals, and
/// carries out each `Ready` (persist, send, apply, advance).
///
/// A Ready's synced write runs on a storage thread (``RaftDriverThreads``)
/// while the loop goes on stepping messages, proposals and ticks into
/// RaftCore, as etcd's raft takes input between `Ready` and `Advance`; what
/// arrives meanwhile is handed out by the next Ready, so proposals that
/// arrive during one fsync share the next fsync and one append message.
/// Where syncs take less than that hand-off (``SyncedWriteTimes``), the
/// write runs on the loop itself.
/// Nothing leaves this replica before the writes it depends on are durable:
/// RaftCore hands out a new Ready only after `advance`.
/// A follower forwards a write (``submit(_:)``) to the leader over the Raft
/// connection it already has, and answers it when it applies the entry.
///
/// The actor runs on an event loop (``RaftDriverThreads``), not on Swift's
/// cooperative pool, with its peer connections: a Raft message goes from
/// the socket to RaftCore and back without another thread.
public actor RaftDriver<StateMachine: ReplicatedStateMachine> {
    public typealias Output = StateMachine.Output

    private nonisolated let loop: any EventLoop
    public nonisolated var unownedExecutor: UnownedSerialExecutor { loop.executor.asUnownedSerialExecutor() }

    private var raft: RaftNode
    private let persistence: any RaftPersistence
    private let sender: any RaftMessageSender
    private let stateMachine: StateMachine
    private let snapshotEvery: UInt64
    private let snapshotBytes: Int

    private var proposalWaiters: [UInt64: ProposalWaiter] = [:]

    /// A proposal this replica appended, waiting to be applied.
    private struct ProposalWaiter {
        /// The term it was appended in: at its index, an entry of another term is not it.
        var term: UInt64
        /// What it encodes, handed to the state machine with it.
        var command: StateMachine.Command?
        var continuation: CheckedContinuation<Output?, any Error>
    }
    /// Writes this replica forwarded to the leader, by the sequence number in their tag.
    private var forwarded: [UInt64: ForwardedWrite] = [:]

    /// A write forwarded to the leader, waiting to be seen applied.
    private struct ForwardedWrite {
        /// The term it was forwarded in: the only term it can be appended in.
        var term: UInt64
        /// The tick count after which its caller stops waiting.
        var deadline: UInt64
        /// What it encodes, handed to the state machine with it.
        var command: StateMachine.Command?
        var continuation: CheckedContinuation<Output?, any Error>
    }
    /// Random at start, so that a tag from before a restart (its entry may
    /// still be applied after it) never matches a write made after it.
    private var lastForwardSequence = UInt64.random(in: 0 ... .max)
    /// The term of the latest entry applied (or snapshot restored).
    private var appliedTerm: UInt64 = 0
    private var ticks: UInt64 = 0
    private let forwardTimeoutTicks: UInt64
    private var readWaiters: [[UInt8]: CheckedContinuation<Void, any Error>] = [:]
    /// Reads whose index is known, waiting for the state machine to reach it.
    private var readsAwaitingApply: [(index: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    private var nextReadID: UInt64 = 0
    /// A drain of Readys is scheduled or under way. Input that arrives while
    /// it waits (for the storage thread, or for the lanes to write) is
    /// handled by it: it loops while Raft has a Ready.
    private var draining = false
    private var syncedWrites = SyncedWriteTimes()
    private var failure: RaftDriverError?
    private var lastSnapshotIndex: UInt64 = 0
    /// A snapshot being encoded off the loop (at most one at a time).
    private var snapshotInFlight = false
    /// Bytes of entries applied since the latest snapshot, and that snapshot's size.
    private var bytesSinceSnapshot = 0
    private var lastSnapshotSize = 0

    private var lastLeadership: Leadership
    /// Counts changes of ``Leadership``.
    private var leadershipVersion = 0
    private var leadershipWaiters: [CheckedContinuation<Void, Never>] = []

    /// - Parameters:
    ///   - snapshotEvery: take a snapshot and compact after this many applied entries…
    ///   - snapshotBytes: …or after this many bytes of them, whichever comes first;
    ///     but never before the log since the last snapshot has grown as large as
    ///     that snapshot, so that writing snapshots costs at most about one byte
    ///     per byte logged however large the state grows.
    ///   - forwardTimeoutTicks: how long a write forwarded to the leader may
    ///     go unanswered (no commit, no refusal, no new leader) before its
    ///     caller is told its outcome is unknown.
    ///   - loop: where the driver runs; the sender's connections are best on
    ///     it too (``RaftDriverThreads/next()``).
    public init(
        config: RaftConfig, persistence: any RaftPersistence, sender: any RaftMessageSender,
        stateMachine: StateMachine, snapshotEvery: UInt64 = 10_000, snapshotBytes: Int = 64 << 20,
        forwardTimeoutTicks: UInt64 = 200, loop: any EventLoop = RaftDriverThreads.next()
    ) throws {
        self.loop = loop
        self.forwardTimeoutTicks = forwardTimeoutTicks
        let snapshot = try persistence.snapshot()
        if !snapshot.isEmpty { try stateMachine.restore(snapshot.data) }
        var config = config
        config.applied = snapshot.metadata.index
        raft = try RaftNode(config: config, storage: persistence)
        self.persistence = persistence
        self.sender = sender
        self.stateMachine = stateMachine
        self.snapshotEvery = snapshotEvery
        self.snapshotBytes = snapshotBytes
        lastSnapshotSize = snapshot.data.count
        lastSnapshotIndex = snapshot.metadata.index
        appliedTerm = snapshot.metadata.term
        lastLeadership = Leadership(role: raft.role, leader: raft.leader, term: raft.term)
    }

    /// Who leads, as this replica sees it.
    public struct Leadership: Sendable, Equatable {
        public var role: RaftRole
        public var leader: NodeID
        public var term: UInt64
    }

    // MARK: Status

    public struct Status: Sendable, Equatable {
        public var id: NodeID
        public var role: RaftRole
        public var leader: NodeID
        public var term: UInt64
        public var commitIndex: UInt64
        public var appliedIndex: UInt64
        public var lastIndex: UInt64
        /// The index of the latest snapshot: the log before it is compacted.
        public var snapshotIndex: UInt64
        public var voters: [NodeID]
        public var learners: [NodeID]
    }

    /// The leader's view of each member's replication (its match index); empty on a follower.
    public var replicationProgress: [NodeID: UInt64] {
        guard raft.role == .leader else { return [:] }
        var out: [NodeID: UInt64] = [:]
        for member in raft.confState.members {
            if let p = raft.progress(of: member) { out[member] = p.match }
        }
        return out
    }

    public var status: Status {
        Status(
            id: raft.id, role: raft.role, leader: raft.leader, term: raft.term,
            commitIndex: raft.commitIndex, appliedIndex: raft.appliedIndex, lastIndex: raft.lastIndex,
            snapshotIndex: lastSnapshotIndex, voters: raft.confState.voters, learners: raft.confState.learners
        )
    }

    /// A stretch of this replica's stored log, with the bounds it lies in.
    public struct LogWindow: Sendable, Equatable {
        /// Contiguous, in index order.
        public var entries: [Entry]
        /// The first index still stored: older entries were compacted into the snapshot.
        public var firstIndex: UInt64
        public var lastIndex: UInt64
        /// The commit index, at most `lastIndex`: an entry may count as
        /// committed while this replica's own write of it is still under way.
        public var commitIndex: UInt64
    }

    /// Up to `limit` entries of this replica's stored log starting at `from`
    /// (the first retained index when `from` lies before it); `from == 0`
    /// means the last `limit` entries. Read here, on the driver's thread, so
    /// no compaction runs between reading the bounds and the entries; a
    /// write under way may add entries after `lastIndex` meanwhile.
    public func storedLog(from: UInt64, limit: Int) throws -> LogWindow {
        do throws(RaftStorageError) {
            let first = try persistence.firstIndex()
            let last = try persistence.lastIndex()
            let count = UInt64(max(0, limit))
            let start = from == 0 ? max(first, last >= count ? last - count + 1 : 0) : max(from, first)
            let end = min(last, start &+ count &- 1)
            let entries = count == 0 || start > end ? [] : try persistence.entries(from: start, to: end + 1, maxBytes: .max)
            return LogWindow(entries: entries, firstIndex: first, lastIndex: last, commitIndex: min(raft.commitIndex, last))
        } catch {
            throw RaftDriverError.storageFailed("the log could not be read: \(error)")
        }
    }

    // MARK: Inputs

    /// Advances logical time; call every tick interval.
    public func tick() {
        raft.tick()
        ticks += 1
        if !forwarded.isEmpty { expireForwardedWrites() }
        scheduleReady()
    }

    /// Hands over messages received from peers.
    public func receive(_ messages: [Message]) {
        for message in messages { raft.step(message) }
        scheduleReady()
    }

    /// Replicates `command`; returns the state machine's output once it is
    /// committed and applied here (nil if this replica restored a snapshot past it).
    /// `decoded`, when given, is what `command` encodes: it is applied in its
    /// place, so the bytes are not decoded again here.
    public func propose(_ command: [UInt8], decoded: StateMachine.Command? = nil) async throws -> Output? {
        if let failure { throw failure }
        let position: LogPosition
        do {
            position = try raft.propose(command)
        } catch {
            throw Self.translate(error)
        }
        scheduleReady()
        return try await withCheckedThrowingContinuation { continuation in
            proposalWaiters[position.index] = ProposalWaiter(term: position.term, command: decoded, continuation: continuation)
        }
    }

    /// Replicates `command` through whichever replica leads: proposed here
    /// when this one leads, otherwise forwarded to the leader over the Raft
    /// connection (``RaftNode/proposeTagged(_:context:)``) and answered when
    /// it is applied here. Returns the state machine's output, as `propose`.
    ///
    /// A forwarded write fails with `dropped` when a later term's entry is
    /// applied first (it can no longer commit), with the leader's refusal,
    /// or with `outcomeUnknown` when nothing is heard of it for
    /// `forwardTimeoutTicks` or a snapshot is restored over it.
    public func submit(_ command: [UInt8], decoded: StateMachine.Command? = nil) async throws -> Output? {
        if let failure { throw failure }
        if raft.role == .leader { return try await propose(command, decoded: decoded) }
        lastForwardSequence &+= 1
        let sequence = lastForwardSequence
        let tag = WriteTag(origin: raft.id, sequence: sequence).bytes
        do {
            try raft.proposeTagged(tag + command, context: tag)
        } catch {
            throw Self.translate(error)
        }
        scheduleReady()
        return try await withCheckedThrowingContinuation { continuation in
            forwarded[sequence] = ForwardedWrite(
                term: raft.term, deadline: ticks + forwardTimeoutTicks, command: decoded, continuation: continuation)
        }
    }

    /// Returns once this replica's state reflects every write acknowledged
    /// before the call (ReadIndex): a linearizable read may follow.
    public func linearizableBarrier() async throws {
        if let failure { throw failure }
        nextReadID += 1
        let context = withUnsafeBytes(of: nextReadID.littleEndian) { Array($0) } + withUnsafeBytes(of: raft.id.littleEndian) { Array($0) }
        do {
            try raft.readIndex(context: context)
        } catch {
            throw Self.translate(error)
        }
        scheduleReady()
        try await withCheckedThrowingContinuation { continuation in
            readWaiters[context] = continuation
        }
    }

    /// Proposes a membership change and waits for it to be applied here.
    public func changeMembership(_ change: ConfChange) async throws {
        if let failure { throw failure }
        let position: LogPosition
        do {
            position = try raft.proposeConfChange(change)
        } catch {
            throw Self.translate(error)
        }
        scheduleReady()
        _ = try await withCheckedThrowingContinuation { continuation in
            proposalWaiters[position.index] = ProposalWaiter(term: position.term, command: nil, continuation: continuation)
        }
    }

    /// Starts handing leadership to `target` (or the most up-to-date voter).
    public func transferLeadership(to target: NodeID?) throws {
        do {
            try raft.transferLeadership(to: target)
        } catch {
            throw Self.translate(error)
        }
        scheduleReady()
    }

    /// Whether a proposal or a read waits for its outcome.
    public var hasWaiters: Bool {
        !proposalWaiters.isEmpty || !forwarded.isEmpty || !readWaiters.isEmpty || !readsAwaitingApply.isEmpty
    }

    /// Fails every waiter; the driver accepts nothing more.
    public func stop() {
        fail(.stopped)
    }

    // MARK: The Ready loop

    private func scheduleReady() {
        guard !draining, failure == nil else { return }
        draining = true
        Task { await self.drainReady() }
    }

    private func drainReady() async {
        defer { draining = false }
        while failure == nil && raft.hasReady {
            let ready = raft.ready()
            let (early, late) = ready.messagesByWrite
            if !early.isEmpty {
                sender.send(early)
                // The lanes that write them share this loop's thread: with
                // nothing synced to wait for, applying would hold them back
                // (a commit index reached followers after the leader applied).
                if !ready.mustSync && !ready.committedEntries.isEmpty { await Task.yield() }
            }
            do {
                try await persist(ready)
            } catch {
                fail(.storageFailed("\(error)"))
                return
            }
            guard failure == nil else { return }
            if !late.isEmpty { sender.send(late) }
            if ready.softState != nil || ready.hardState != nil { publishLeadership() }
            if let snapshot = ready.snapshot {
                do {
                    try stateMachine.restore(snapshot.data)
                } catch {
                    fail(.storageFailed("snapshot at \(snapshot.metadata.index) could not be restored: \(error)"))
                    return
                }
                lastSnapshotIndex = snapshot.metadata.index
                lastSnapshotSize = snapshot.data.count
                bytesSinceSnapshot = 0
                settleProposals(coveredBy: snapshot.metadata)
            }
            for refusal in ready.refusedProposals {
                guard let tag = WriteTag(refusal.context), tag.origin == raft.id,
                      let write = forwarded.removeValue(forKey: tag.sequence) else { continue }
                write.continuation.resume(throwing: Self.translate(refusal.reason))
            }
            for entry in ready.committedEntries { apply(entry) }
            for read in ready.readStates {
                if let waiter = readWaiters.removeValue(forKey: read.context) {
                    readsAwaitingApply.append((read.index, waiter))
                }
            }
            raft.advance(ready)
            releaseReads()
            if ready.softState.map({ $0.role != .leader }) == true { failReadsOnLeadershipLoss() }
            maybeSnapshot()
        }
    }

    /// Writes what `ready` asks for: on the storage thread when it must be
    /// synced and syncs are slow, so that the loop goes on meanwhile; here
    /// when it need not be (a commit index alone), or when recent syncs took
    /// less than the hand-off costs (a wake-up of the storage thread and one
    /// back: on a VM, tens of microseconds each, which a fast disk's sync
    /// undercuts).
    private func persist(_ ready: Ready) async throws {
        guard ready.mustSync else {
            try persistence.persist(entries: ready.entries, hardState: ready.hardState, snapshot: ready.snapshot)
            return
        }
        let persistence = persistence
        let (entries, hardState, snapshot) = (ready.entries, ready.hardState, ready.snapshot)
        let write = { @Sendable () throws -> Duration in
            let started = ContinuousClock.now
            try persistence.persist(entries: entries, hardState: hardState, snapshot: snapshot)
            return ContinuousClock.now - started
        }
        let onLoop = snapshot == nil && syncedWrites.areFast
        syncedWrites.record(onLoop ? try write() : try await RaftDriverThreads.storage.runIfActive(write))
    }

    private func publishLeadership() {
        let now = Leadership(role: raft.role, leader: raft.leader, term: raft.term)
        guard now != lastLeadership else { return }
        lastLeadership = now
        leadershipVersion += 1
        let waiters = leadershipWaiters
        leadershipWaiters = []
        for w in waiters { w.resume() }
    }

    /// The current leadership once it differs from version `seen` (pass 0
    /// first, then the version returned): every change is observed, none twice.
    /// Returns nil once the driver stopped.
    public func leadership(after seen: Int) async -> (Leadership, version: Int)? {
        while leadershipVersion <= seen && failure == nil {
            await withCheckedContinuation { leadershipWaiters.append($0) }
        }
        guard failure == nil else { return nil }
        return (lastLeadership, leadershipVersion)
    }

    private func apply(_ entry: Entry) {
        if entry.term > appliedTerm {
            appliedTerm = entry.term
            if !forwarded.isEmpty { dropForwardedWrites(before: entry.term) }
        }
        let waiter = proposalWaiters.removeValue(forKey: entry.index)
        bytesSinceSnapshot += entry.data.count
        var output: Output?
        var forwardedHere: ForwardedWrite?
        switch entry.kind {
        case .normal where !entry.data.isEmpty:
            output = stateMachine.apply(entry, proposed: waiter?.term == entry.term ? waiter?.command : nil)
        case .tagged:
            guard let (tag, command) = WriteTag.split(entry.data) else { break }
            if tag.origin == raft.id { forwardedHere = forwarded.removeValue(forKey: tag.sequence) }
            output = stateMachine.apply(Entry(term: entry.term, index: entry.index, kind: .normal, data: command),
                                        proposed: forwardedHere?.command)
        case .confChange:
            if let change = try? ConfChange(decoding: entry.data) { stateMachine.applyMembershipChange(change, at: entry.index) }
        default:
            break
        }
        forwardedHere?.continuation.resume(returning: output)
        guard let waiter else { return }
        if waiter.term == entry.term {
            waiter.continuation.resume(returning: output)
        } else {
            waiter.continuation.resume(throwing: RaftDriverError.dropped)
        }
    }

    /// An entry of `term` was applied: forwarded writes of earlier terms were
    /// not appended by their term's leader, or they would have come first.
    private func dropForwardedWrites(before term: UInt64) {
        for (sequence, write) in forwarded where write.term < term {
            forwarded[sequence] = nil
            write.continuation.resume(throwing: RaftDriverError.dropped)
        }
    }

    private func expireForwardedWrites() {
        for (sequence, write) in forwarded where write.deadline <= ticks {
            forwarded[sequence] = nil
            write.continuation.resume(throwing: RaftDriverError.outcomeUnknown(
                "the leader neither applied nor refused it within \(forwardTimeoutTicks) ticks"))
        }
    }

    private func releaseReads() {
        let applied = raft.appliedIndex
        readsAwaitingApply.removeAll { read in
            guard read.index <= applied else { return false }
            read.continuation.resume()
            return true
        }
    }

    /// Pending reads were addressed to a leadership that ended: fail them so callers retry.
    private func failReadsOnLeadershipLoss() {
        for (_, waiter) in readWaiters { waiter.resume(throwing: RaftDriverError.notLeader(leader: raft.leader)) }
        readWaiters = [:]
    }

    /// Proposals at or below a restored snapshot were applied within it; their
    /// outputs are unknown. Forwarded writes of its term or before may lie
    /// within it or have been dropped: which, this replica cannot tell.
    private func settleProposals(coveredBy snapshot: SnapshotMetadata) {
        for (waiting, waiter) in proposalWaiters where waiting <= snapshot.index {
            proposalWaiters[waiting] = nil
            waiter.continuation.resume(returning: nil)
        }
        appliedTerm = max(appliedTerm, snapshot.term)
        for (sequence, write) in forwarded where write.term <= snapshot.term {
            forwarded[sequence] = nil
            write.continuation.resume(throwing: RaftDriverError.outcomeUnknown(
                "this server restored a snapshot through index \(snapshot.index) before it could see the write applied"))
        }
    }

    /// Every `snapshotEvery` applied entries or `snapshotBytes` of them (see
    /// `init`): captures the state here, encodes it on another thread while the
    /// loop goes on, then writes it and compacts the log through its index
    /// (``finishSnapshot``).
    private func maybeSnapshot() {
        let applied = raft.appliedIndex
        let due = applied >= lastSnapshotIndex + snapshotEvery || bytesSinceSnapshot >= snapshotBytes
        guard !snapshotInFlight, due, bytesSinceSnapshot >= lastSnapshotSize,
              let conf = raft.confState(atIndex: applied) else { return }
        snapshotInFlight = true
        bytesSinceSnapshot = 0
        let encode = stateMachine.snapshot()
        Task {
            // On the blocking pool: a large state takes long enough to
            // encode that it would hold up this loop's connections.
            let data = try? await NIOThreadPool.singleton.runIfActive(encode)
            self.finishSnapshot(index: applied, confState: conf, data: data)
        }
    }

    private func finishSnapshot(index: UInt64, confState: ConfState, data: [UInt8]?) {
        snapshotInFlight = false
        // A snapshot received from the leader meanwhile may have passed this one.
        guard let data, failure == nil, index > lastSnapshotIndex else { return }
        do {
            try persistence.createSnapshot(index: index, confState: confState, data: data)
            try persistence.compact(through: index)
            lastSnapshotIndex = index
            lastSnapshotSize = data.count
        } catch {
            fail(.storageFailed("snapshot at \(index) failed: \(error)"))
        }
    }

    private func fail(_ error: RaftDriverError) {
        if failure == nil { failure = error }
        for (_, waiter) in proposalWaiters { waiter.continuation.resume(throwing: error) }
        proposalWaiters = [:]
        for (_, write) in forwarded { write.continuation.resume(throwing: error) }
        forwarded = [:]
        for (_, waiter) in readWaiters { waiter.resume(throwing: error) }
        readWaiters = [:]
        for read in readsAwaitingApply { read.continuation.resume(throwing: error) }
        readsAwaitingApply = []
        let waiters = leadershipWaiters
        leadershipWaiters = []
        for w in waiters { w.resume() }
    }

    static func translate(_ error: RaftError) -> RaftDriverError {
        switch error {
        case let .notLeader(leader): .notLeader(leader: leader)
        case .proposalQueueFull: .overloaded(retryAfterMilliseconds: 50)
        case let .leadershipTransferInProgress(to): .notLeader(leader: to)
        case let .storage(storageError): .storageFailed("\(storageError)")
        default: .rejected("\(error)")
        }
    }
}

/// What a forwarded write's entry begins with: the forwarding replica and a
/// sequence number of its own, 8 bytes each, little-endian.
struct WriteTag: Equatable {
    static let size = 16
    var origin: NodeID
    var sequence: UInt64

    init(origin: NodeID, sequence: UInt64) {
        self.origin = origin
        self.sequence = sequence
    }

    /// The tag `bytes` begin with; nil when they are too short to hold one.
    init?(_ bytes: [UInt8]) {
        guard bytes.count >= Self.size else { return nil }
        var origin: UInt64 = 0, sequence: UInt64 = 0
        for i in 0..<8 {
            origin |= UInt64(bytes[i]) << (8 * i)
            sequence |= UInt64(bytes[8 + i]) << (8 * i)
        }
        self.init(origin: origin, sequence: sequence)
    }

    /// The tag `data` begins with, and the command after it.
    static func split(_ data: [UInt8]) -> (tag: WriteTag, command: [UInt8])? {
        WriteTag(data).map { ($0, Array(data[size...])) }
    }

    var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(Self.size)
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: origin >> (8 * i))) }
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: sequence >> (8 * i))) }
        return out
    }
}

/// How long synced writes take (a Raft driver's Readys, a client's state):
/// a moving average over about the last eight, starting slow, so that the
/// first writes go to another thread.
struct SyncedWriteTimes {
    /// Below this, a write is cheaper than handing it to another thread.
    static let handOffCost: Duration = .microseconds(100)
    private(set) var average: Duration = .milliseconds(1)

    var areFast: Bool { average < Self.handOffCost }

    mutating func record(_ took: Duration) {
        average = (average * 7 + took) / 8
    }
}

/// The threads Raft drivers run on: NIO's shared event loops, which also
/// carry the process's gRPC connections (and in `caravand`, Swift's tasks),
/// so that a request handed to the driver and its reply need not change
/// threads on a machine with few cores.
public enum RaftDriverThreads {
    static let group = MultiThreadedEventLoopGroup.singleton

    /// Where synced writes block: one thread, as each driver has at most one
    /// write under way and a process normally runs one driver.
    static let storage: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        return pool
    }()

    /// A loop for a driver (and its peer connections).
    public static func next() -> any EventLoop { group.next() }
}
