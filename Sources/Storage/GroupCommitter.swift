/// Counters of a store's writes, for monitoring and the benchmark.
public struct CommitStatistics: Sendable, Hashable {
    /// Write calls acknowledged (each `persist`, KV `write`, ...).
    public var writes: UInt64 = 0
    /// Batches written to RocksDB; each is one fsync when writes are synced.
    public var groups: UInt64 = 0
    /// Groups written with sync (fsync of the write-ahead log).
    public var syncs: UInt64 = 0
}

/// Group commit: writers that arrive while a synced write is in flight wait,
/// and the next of them writes all their batches as one, with one sync.
///
/// Leader/follower: a writer queues its batch; if nobody is writing, it
/// becomes the leader, takes every queued batch, writes them together and
/// wakes the others. Batches are applied in the order they were queued.
///
/// After a write fails, every queued and later write fails with that error:
/// nothing is acknowledged that was not durably written, and the store must be
/// reopened (see `StorageError.stopsWrites`).
final class GroupCommitter: @unchecked Sendable {
    // Safety: every stored property below `condition` is read and written
    // only while `condition` is locked.
    private let condition = ConditionLock()
    private var queue: [(writes: WriteSet, mustSync: Bool)] = []
    private var nextTicket: UInt64 = 1
    private var durableThrough: UInt64 = 0
    private var writing = false
    private var failure: StorageError?
    private var statistics = CommitStatistics()

    private let sync: Bool
    private let perform: @Sendable (WriteSet, _ sync: Bool) -> StorageError?

    /// `perform` writes one merged batch and returns the failure, if any.
    init(sync: Bool, perform: @escaping @Sendable (WriteSet, _ sync: Bool) -> StorageError?) {
        self.sync = sync
        self.perform = perform
    }

    var counters: CommitStatistics {
        condition.lock()
        defer { condition.unlock() }
        return statistics
    }

    /// Writes queued behind the one in flight (tests use it to line writers up).
    var queuedCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count
    }

    /// Marks the committer failed (used on close): later writes throw `error`.
    func stop(with error: StorageError) {
        condition.lock()
        defer { condition.unlock() }
        if failure == nil { failure = error }
    }

    /// Writes `writes` atomically; returns once they are durable (or written,
    /// without sync). Blocks the calling thread.
    ///
    /// - Parameter mustSync: false for a write that may be lost in a crash
    ///   (a Raft commit index: the leader tells it again). It is written in
    ///   order, and made durable by the next synced write; a group syncs when
    ///   any of its writes must.
    func commit(_ writes: WriteSet, mustSync: Bool = true) throws(StorageError) {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw failure }
        let ticket = nextTicket
        nextTicket += 1
        queue.append((writes, mustSync))
        while true {
            if ticket <= durableThrough { return }
            if let failure { throw failure }
            if writing {
                condition.wait()
                continue
            }
            // Become the leader for everything queued so far.
            writing = true
            let group = queue
            queue.removeAll(keepingCapacity: true)
            let last = nextTicket - 1
            condition.unlock()
            var merged = WriteSet()
            if group.count == 1 {
                merged = group[0].writes
            } else {
                merged = WriteSet(capacity: group.reduce(0) { $0 + $1.writes.byteCount })
                for member in group { merged.append(contentsOf: member.writes) }
            }
            let syncs = sync && group.contains(where: \.mustSync)
            let error = perform(merged, syncs)
            condition.lock()
            writing = false
            if let error {
                failure = error
            } else {
                durableThrough = last
                statistics.writes += UInt64(group.count)
                statistics.groups += 1
                if syncs { statistics.syncs += 1 }
            }
            condition.broadcast()
        }
    }
}
