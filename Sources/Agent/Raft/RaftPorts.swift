import RaftCore

/// Where a `RaftDriver` persists its log. The durable implementation lives in
/// the Storage target (RocksDB, one synced write batch per `persist`);
/// `InMemoryRaftPersistence` serves dev mode and tests.
public protocol RaftPersistence: AnyObject {
    /// The read side RaftCore consults.
    var raftStorage: any RaftStorage { get }

    /// Writes a Ready's snapshot, entries and hard state atomically; with
    /// `sync`, returns only once they are on stable storage.
    func persist(snapshot: Snapshot?, entries: [Entry], hardState: HardState?, sync: Bool) throws

    /// Records a snapshot of the state machine at `index` and drops the log up to it.
    func snapshotAndCompact(index: UInt64, confState: ConfState, data: [UInt8]) throws
}

/// Sends Raft messages to peers. Must not block: Raft tolerates loss, so a
/// full queue drops.
public protocol RaftMessageSender: Sendable {
    func send(_ messages: [Message])
}

/// The application replicated by Raft.
public protocol ReplicatedStateMachine: AnyObject {
    /// The result an applied command hands back to its proposer.
    associatedtype Output: Sendable

    /// Applies one committed normal entry (never an empty or membership entry).
    func apply(_ entry: Entry) -> Output

    /// The whole state, to be restored by `restore`.
    func snapshot() -> [UInt8]

    /// Replaces the whole state with a snapshot's.
    func restore(_ data: [UInt8]) throws
}

/// The in-memory persistence: RaftCore's `MemoryStorage`.
public final class InMemoryRaftPersistence: RaftPersistence {
    public let storage: MemoryStorage

    public init(bootstrapping voters: [NodeID]) {
        storage = MemoryStorage(bootstrapping: voters)
    }

    /// A member joining an existing group: it learns the membership by replication.
    public init() {
        storage = MemoryStorage()
    }

    public var raftStorage: any RaftStorage { storage }

    public func persist(snapshot: Snapshot?, entries: [Entry], hardState: HardState?, sync: Bool) throws {
        if let snapshot { storage.applySnapshot(snapshot) }
        storage.append(entries)
        if let hardState { storage.setHardState(hardState) }
    }

    public func snapshotAndCompact(index: UInt64, confState: ConfState, data: [UInt8]) throws {
        try storage.createSnapshot(index: index, confState: confState, data: data)
        try storage.compact(through: index)
    }
}
