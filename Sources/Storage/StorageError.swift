import RaftCore

/// Why a storage operation failed. Every case says what was wrong; its
/// `description` also says what to do about it.
///
/// After an I/O failure (`diskFull`, `readOnly`, `io`, `corrupted` during a
/// write) a durable store refuses every later write with the same error until
/// it is reopened: nothing half-written is ever acknowledged, and the caller
/// (the server) must stop accepting writes. Check `stopsWrites`.
public enum StorageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Another process (or another open store in this one) holds the data directory.
    case locked(directory: String, holderPID: Int32?)
    /// The data directory was written by a newer Caravan with a format this build does not know.
    case newerFormat(directory: String, found: Int, supported: Int)
    /// The directory is not empty and is not a Caravan storage directory.
    case notAStorageDirectory(directory: String, found: String)
    /// Stored bytes fail their checksum or do not decode: the data cannot be trusted.
    case corrupted(path: String, detail: String)
    /// The disk is full.
    case diskFull(path: String, detail: String)
    /// The directory or file cannot be written (read-only file system or no permission).
    case readOnly(path: String, detail: String)
    /// Any other I/O failure.
    case io(path: String, operation: String, detail: String)
    /// An append would leave a hole: the log ends at `lastIndex`, the entries start after `lastIndex + 1`.
    case logGap(lastIndex: UInt64, appendedFrom: UInt64)
    /// The entries passed in are not consecutive.
    case nonConsecutiveEntries(after: UInt64, found: UInt64)
    /// The index lies at or below the compacted prefix (`firstIndex` is the first entry held).
    case compacted(index: UInt64, firstIndex: UInt64)
    /// The index lies beyond the last entry held.
    case unavailable(index: UInt64, lastIndex: UInt64)
    /// Compaction would discard entries that no snapshot covers.
    case compactBeyondSnapshot(index: UInt64, snapshotIndex: UInt64)
    /// The snapshot is not newer than the one already held.
    case staleSnapshot(index: UInt64, current: UInt64)
    /// The store was closed.
    case closed

    /// Whether the store refuses further writes after this error: the server
    /// must stop accepting writes and surface the error to the operator.
    public var stopsWrites: Bool {
        switch self {
        case .corrupted, .diskFull, .readOnly, .io, .closed: true
        default: false
        }
    }

    /// The error as RaftCore's read side sees it.
    public var raftStorageError: RaftStorageError {
        switch self {
        case .compacted: .compacted
        case .unavailable: .unavailable
        default: .backend(description)
        }
    }

    public var description: String {
        switch self {
        case let .locked(directory, pid):
            let holder = pid.map { "process \($0)" } ?? "another process"
            return "The data directory \(directory) is in use by \(holder). Stop that process, or give this one its own --data-dir."
        case let .newerFormat(directory, found, supported):
            return "The data directory \(directory) has format version \(found), but this build supports up to \(supported). Run a newer Caravan, or point this one at another directory."
        case let .notAStorageDirectory(directory, found):
            return "The directory \(directory) is not a Caravan data directory (it holds \(found)). Choose an empty or new directory; Caravan does not write into directories it did not create."
        case let .corrupted(path, detail):
            return "Corrupted data in \(path): \(detail). This node's copy cannot be trusted: stop the node, move its data directory aside (keep it for diagnosis) and restart it empty so it recovers from the cluster (a server receives a snapshot from the leader; a client re-registers)."
        case let .diskFull(path, detail):
            return "The disk holding \(path) is full (\(detail)). Writes are stopped; free space or move the data directory to a larger disk, then restart the node."
        case let .readOnly(path, detail):
            return "Cannot write to \(path) (\(detail)). Make the directory writable by this user (and the file system read-write), then restart the node."
        case let .io(path, operation, detail):
            return "I/O error during \(operation) on \(path): \(detail). Writes are stopped; check the disk and the system log, then restart the node."
        case let .logGap(lastIndex, from):
            return "Cannot append entries starting at \(from): the log ends at \(lastIndex), which would leave a gap. Append from \(lastIndex + 1) or earlier."
        case let .nonConsecutiveEntries(after, found):
            return "Entries must have consecutive indices: \(found) follows \(after). Pass the entries in log order without holes."
        case let .compacted(index, first):
            return "Index \(index) is compacted; the log starts at \(first). Use the snapshot instead."
        case let .unavailable(index, last):
            return "Index \(index) is beyond the end of the log (\(last))."
        case let .compactBeyondSnapshot(index, snapshotIndex):
            return "Cannot compact through \(index): the latest snapshot only covers up to \(snapshotIndex). Create a snapshot at \(index) or later first."
        case let .staleSnapshot(index, current):
            return "Snapshot at \(index) is not newer than the one held (\(current)); it was ignored."
        case .closed:
            return "The store is closed. Open it again to use it."
        }
    }
}
