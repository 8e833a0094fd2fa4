/// Storage persists the Raft log, hard state and snapshots, and a small
/// ordered key-value store for node-local state, in memory or on RocksDB.
public enum Storage {}
