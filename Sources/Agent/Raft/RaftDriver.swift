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
}

/// Runs one RaftCore replica: ticks it, feeds it messages and proposals, and
/// carries out each `Ready` (persist, send, apply, advance).
///
/// Proposals that arrive while a Ready is being persisted are appended
/// together by the next one: they share one fsync and one append message.
///
/// The actor runs on a thread of its own (``RaftDriverThreads``), not on
/// Swift's cooperative pool: each Ready blocks in fsync, and on a small
/// machine the pool has only a thread or two for every handler and worker.
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

    private var proposalWaiters: [UInt64: (term: UInt64, continuation: CheckedContinuation<Output?, any Error>)] = [:]
    private var readWaiters: [[UInt8]: CheckedContinuation<Void, any Error>] = [:]
    /// Reads whose index is known, waiting for the state machine to reach it.
    private var readsAwaitingApply: [(index: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    private var nextReadID: UInt64 = 0
    private var readyScheduled = false
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
    ///   - loop: where the driver runs; the sender's connections are best on
    ///     it too (``RaftDriverThreads/next()``).
    public init(
        config: RaftConfig, persistence: any RaftPersistence, sender: any RaftMessageSender,
        stateMachine: StateMachine, snapshotEvery: UInt64 = 10_000, snapshotBytes: Int = 64 << 20,
        loop: any EventLoop = RaftDriverThreads.next()
    ) throws {
        self.loop = loop
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
        public var commitIndex: UInt64
    }

    /// Up to `limit` entries of this replica's stored log starting at `from`
    /// (the first retained index when `from` lies before it); `from == 0`
    /// means the last `limit` entries. Read here, on the driver's thread, so
    /// no compaction runs between reading the bounds and the entries.
    public func storedLog(from: UInt64, limit: Int) throws -> LogWindow {
        do throws(RaftStorageError) {
            let first = try persistence.firstIndex()
            let last = try persistence.lastIndex()
            let count = UInt64(max(0, limit))
            let start = from == 0 ? max(first, last >= count ? last - count + 1 : 0) : max(from, first)
            let end = min(last, start &+ count &- 1)
            let entries = count == 0 || start > end ? [] : try persistence.entries(from: start, to: end + 1, maxBytes: .max)
            return LogWindow(entries: entries, firstIndex: first, lastIndex: last, commitIndex: raft.commitIndex)
        } catch {
            throw RaftDriverError.storageFailed("the log could not be read: \(error)")
        }
    }

    // MARK: Inputs

    /// Advances logical time; call every tick interval.
    public func tick() {
        raft.tick()
        scheduleReady()
    }

    /// Hands over messages received from peers.
    public func receive(_ messages: [Message]) {
        for message in messages { raft.step(message) }
        scheduleReady()
    }

    /// Replicates `command`; returns the state machine's output once it is
    /// committed and applied here (nil if this replica restored a snapshot past it).
    public func propose(_ command: [UInt8]) async throws -> Output? {
        if let failure { throw failure }
        let position: LogPosition
        do {
            position = try raft.propose(command)
        } catch {
            throw Self.translate(error)
        }
        scheduleReady()
        return try await withCheckedThrowingContinuation { continuation in
            proposalWaiters[position.index] = (position.term, continuation)
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
            proposalWaiters[position.index] = (position.term, continuation)
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
    public var hasWaiters: Bool { !proposalWaiters.isEmpty || !readWaiters.isEmpty || !readsAwaitingApply.isEmpty }

    /// Fails every waiter; the driver accepts nothing more.
    public func stop() {
        fail(.stopped)
    }

    // MARK: The Ready loop

    private func scheduleReady() {
        guard !readyScheduled, failure == nil else { return }
        readyScheduled = true
        Task { self.drainReady() }
    }

    private func drainReady() {
        readyScheduled = false
        while failure == nil && raft.hasReady {
            let ready = raft.ready()
            do {
                try persistence.persist(entries: ready.entries, hardState: ready.hardState, snapshot: ready.snapshot)
            } catch {
                fail(.storageFailed("\(error)"))
                return
            }
            if !ready.messages.isEmpty { sender.send(ready.messages) }
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
                settleProposals(coveredBy: snapshot.metadata.index)
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
        let waiter = proposalWaiters.removeValue(forKey: entry.index)
        bytesSinceSnapshot += entry.data.count
        var output: Output?
        if entry.kind == .normal && !entry.data.isEmpty {
            output = stateMachine.apply(entry)
        } else if entry.kind == .confChange, let change = try? ConfChange(decoding: entry.data) {
            stateMachine.applyMembershipChange(change, at: entry.index)
        }
        guard let waiter else { return }
        if waiter.term == entry.term {
            waiter.continuation.resume(returning: output)
        } else {
            waiter.continuation.resume(throwing: RaftDriverError.dropped)
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

    /// Proposals at or below a restored snapshot were applied within it; their outputs are unknown.
    private func settleProposals(coveredBy index: UInt64) {
        for (waiting, waiter) in proposalWaiters where waiting <= index {
            proposalWaiters[waiting] = nil
            waiter.continuation.resume(returning: nil)
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
        Task.detached(priority: .utility) {
            let data = encode()
            await self.finishSnapshot(index: applied, confState: conf, data: data)
        }
    }

    private func finishSnapshot(index: UInt64, confState: ConfState, data: [UInt8]) {
        snapshotInFlight = false
        // A snapshot received from the leader meanwhile may have passed this one.
        guard failure == nil, index > lastSnapshotIndex else { return }
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

/// The threads Raft drivers run on, shared by every driver in the process
/// and kept for its lifetime.
public enum RaftDriverThreads {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: min(4, max(1, System.coreCount)))

    /// A loop for a driver (and its peer connections).
    public static func next() -> any EventLoop { group.next() }
}
