import RaftCore

/// What a `RocksDBStore`'s parts share: the locked directory, the database,
/// the group committer and the snapshot files. Closes when the last part goes.
final class StoreCore: Sendable {
    let directory: DataDirectory
    let database: RocksDatabase
    let committer: GroupCommitter
    let snapshots: SnapshotFiles

    init(path: String, syncWrites: Bool, collectStatistics: Bool = false) throws(StorageError) {
        directory = try DataDirectory(path: path)
        let database = try RocksDatabase(path: directory.databasePath, collectStatistics: collectStatistics)
        self.database = database
        committer = GroupCommitter(sync: syncWrites) { writes, sync in database.write(writes, sync: sync) }
        snapshots = SnapshotFiles(directory: directory.snapshotsPath)
    }

    deinit { close() }

    func close() {
        committer.stop(with: .closed)
        database.close()
        directory.unlock()
    }

    /// The error for bytes that did not decode.
    func corrupted(_ failure: DecodingFailure, _ what: String) -> StorageError {
        .corrupted(path: database.path, detail: "\(what): \(failure.reason)")
    }
}

/// The durable backend: a data directory holding a RocksDB database (column
/// families `log`, `meta`, `kv`) and snapshot files, locked against other
/// processes while open.
///
/// Every write of the Raft log, hard state, snapshots and the KV store goes
/// through one group committer: it is one WriteBatch, synced (with
/// `syncWrites`) before the call returns, and writes that arrive while a sync
/// is in flight share the next one.
public final class RocksDBStore: Sendable {
    /// How to open a store.
    public struct Options: Sendable {
        /// Sync (fsync) every write before acknowledging it. Without it, a
        /// process crash loses nothing but a machine crash may lose the last
        /// writes: only for tests and benchmarks.
        public var syncWrites: Bool
        /// The Raft group's membership when the directory is new; ignored otherwise.
        public var initialConfState: ConfState

        /// Keep RocksDB's statistics, so tests can read its own count of syncs.
        var collectsStatistics = false

        public init(syncWrites: Bool = true, initialConfState: ConfState = ConfState()) {
            self.syncWrites = syncWrites
            self.initialConfState = initialConfState
        }
    }

    /// The Raft log, hard state and snapshots.
    public let raft: RocksDBRaftStorage
    /// The node-local key-value store.
    public let keyValues: RocksDBKeyValueStore
    /// The data directory.
    public var path: String { core.directory.path }

    let core: StoreCore

    /// Opens the data directory at `path`, creating it if missing.
    ///
    /// Throws `locked` if another process has it open, `newerFormat` or
    /// `notAStorageDirectory` if it is not ours to read, `corrupted` if the
    /// stored state fails its checks, `readOnly`/`diskFull` if it cannot be written.
    public init(path: String, options: Options = Options()) throws(StorageError) {
        core = try StoreCore(path: path, syncWrites: options.syncWrites, collectStatistics: options.collectsStatistics)
        raft = try RocksDBRaftStorage(core: core, initialConfState: options.initialConfState)
        keyValues = RocksDBKeyValueStore(core: core)
    }

    /// Counters of writes and syncs since opening.
    public var statistics: CommitStatistics { core.committer.counters }

    /// Closes the database and releases the directory's lock. Later calls on
    /// `raft` or `keyValues` throw `closed`. Waits for calls in flight.
    public func close() {
        core.close()
    }

    /// Flushes RocksDB's memtables into table files (tests use it to corrupt a table file).
    func flushMemtables() throws(StorageError) {
        try core.database.flush()
    }
}

/// The node-local key-value store in the `kv` column family. Each value is
/// stored with a CRC-32C of its key and value, checked on every read.
public final class RocksDBKeyValueStore: KeyValueStore {
    let core: StoreCore

    init(core: StoreCore) {
        self.core = core
    }

    public func get(_ key: [UInt8]) throws(StorageError) -> [UInt8]? {
        guard let stored = try core.database.get(.kv, key) else { return nil }
        return try unseal(stored, key: key)
    }

    public func scan(prefix: [UInt8], limit: Int) throws(StorageError) -> [KeyValuePair] {
        var found: [KeyValuePair] = []
        guard limit > 0 else { return found }
        try core.database.scan(.kv, from: prefix, to: nil) { key, stored throws(StorageError) in
            guard key.starts(with: prefix) else { return false }
            found.append(KeyValuePair(key: key, value: try unseal(stored, key: key)))
            return found.count < limit
        }
        return found
    }

    public func write(_ batch: KeyValueBatch) throws(StorageError) {
        guard !batch.isEmpty else { return }
        var writes = WriteSet()
        for operation in batch.operations {
            switch operation {
            case let .put(key, value):
                var sealed = value
                let checksum = CRC32C.checksum(value, continuing: CRC32C.checksum(key))
                withUnsafeBytes(of: checksum.littleEndian) { sealed.append(contentsOf: $0) }
                writes.put(.kv, key, sealed)
            case let .delete(key):
                writes.delete(.kv, key)
            }
        }
        try core.committer.commit(writes)
    }

    private func unseal(_ stored: [UInt8], key: [UInt8]) throws(StorageError) -> [UInt8] {
        let keyText = key.count <= 64 ? String(decoding: key, as: UTF8.self) : "\(key.count)-byte key"
        guard stored.count >= 4 else {
            throw .corrupted(path: core.database.path, detail: "the value of key '\(keyText)' is truncated")
        }
        let value = Array(stored[..<(stored.count - 4)])
        var checksum: UInt32 = 0
        for i in 0..<4 { checksum |= UInt32(stored[stored.count - 4 + i]) << (8 * UInt32(i)) }
        guard checksum == CRC32C.checksum(value, continuing: CRC32C.checksum(key)) else {
            throw .corrupted(path: core.database.path, detail: "the value of key '\(keyText)' fails its checksum")
        }
        return value
    }
}
