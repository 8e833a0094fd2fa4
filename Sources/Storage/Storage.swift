/// Storage persists the Raft log, hard state and snapshots, and a small
/// ordered key-value store for node-local state, in memory or on RocksDB.
///
/// Two backends implement the same protocols (`RaftPersistence`,
/// `KeyValueStore`) and pass one conformance suite:
/// - `InMemoryStore`: for tests, simulations and `caravand dev` without a data directory.
/// - `RocksDBStore`: a durable data directory (RocksDB log, hard state and KV;
///   snapshot files beside it), with group commit and crash safety.
public enum Storage {
    /// The newest data-directory format this build reads and writes.
    public static let formatVersion = 1
}
