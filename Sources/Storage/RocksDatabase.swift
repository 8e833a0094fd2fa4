import CRocksDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A RocksDB database with Caravan's column families, through the C API.
/// Thread-safe: RocksDB is, and `lifetime` keeps `close()` from racing a call.
final class RocksDatabase: @unchecked Sendable {
    // Safety: `handle` and `families` change only in `close()`, under the
    // write side of `lifetime`; every other use holds its read side.
    let path: String
    private var handle: OpaquePointer?
    private var families: [OpaquePointer?]
    private let options: OpaquePointer
    private let plainWrite: OpaquePointer
    private let syncedWrite: OpaquePointer
    private let readOptions: OpaquePointer
    private let lifetime = ReadWriteLock()

    /// - Parameter collectStatistics: Keep RocksDB's statistics (for tests:
    ///   ``walSyncs`` counts the write-ahead log syncs RocksDB itself made).
    init(path: String, collectStatistics: Bool = false) throws(StorageError) {
        self.path = path
        let options = rocksdb_options_create()
        if collectStatistics { rocksdb_options_enable_statistics(options) }
        rocksdb_options_set_create_if_missing(options, 1)
        rocksdb_options_set_create_missing_column_families(options, 1)
        rocksdb_options_set_paranoid_checks(options, 1)
        // Recover to the last consistent point of the write-ahead log: a record
        // torn by a crash was never acknowledged (writes are synced before that).
        rocksdb_options_set_wal_recovery_mode(options, 2)
        // RocksDB's own LOG gets only the header written at open (level 5).
        // Debian builds RocksDB with assertions on, and a LOG write after one
        // that failed for a full disk aborts the process: RocksDB's disk-space
        // watcher logs a line every few seconds once a write has failed (seen
        // as `AssertFalseAndGetStatusForPrevError` from `SstFileManagerImpl::ClearError`).
        // Caravan reports storage failures itself, as typed `StorageError`s.
        rocksdb_options_set_info_log_level(options, 5)
        rocksdb_options_set_keep_log_file_num(options, 3)
        rocksdb_options_set_max_log_file_size(options, 4 << 20)
        // The meta family is written with every append but rarely fills a
        // memtable; bound the write-ahead log so old segments get flushed and freed.
        rocksdb_options_set_max_total_wal_size(options, 256 << 20)
        self.options = options!
        plainWrite = rocksdb_writeoptions_create()
        syncedWrite = rocksdb_writeoptions_create()
        rocksdb_writeoptions_set_sync(syncedWrite, 1)
        readOptions = rocksdb_readoptions_create()
        rocksdb_readoptions_set_verify_checksums(readOptions, 1)

        let names = ["default"] + ColumnFamily.allCases.map(\.name)
        var familyHandles = [OpaquePointer?](repeating: nil, count: names.count)
        // The node-local store takes many small writes and deletes (a client's
        // allocation states, buffered statuses) and holds little: a small
        // memtable keeps its skip list shallow.
        let kvOptions = rocksdb_options_create_copy(options)
        defer { rocksdb_options_destroy(kvOptions) }
        rocksdb_options_set_write_buffer_size(kvOptions, 4 << 20)
        let familyOptions: [OpaquePointer?] = [options] + ColumnFamily.allCases.map { $0 == .kv ? kvOptions : options }
        var error: UnsafeMutablePointer<CChar>?
        let cNames = names.map { strdupOrFail($0) }
        defer { cNames.forEach { free($0) } }
        let database = cNames.map { UnsafePointer<CChar>($0) }.withUnsafeBufferPointer { namePointers in
            familyOptions.withUnsafeBufferPointer { optionPointers in
                familyHandles.withUnsafeMutableBufferPointer { handlePointers in
                    rocksdb_open_column_families(
                        options, path, Int32(names.count),
                        namePointers.baseAddress, optionPointers.baseAddress,
                        handlePointers.baseAddress, &error
                    )
                }
            }
        }
        handle = database
        families = familyHandles
        if let message = Self.take(error) {
            // deinit releases the options; there is no database to close.
            throw Self.error(message, path: path, operation: "open database")
        }
    }

    deinit {
        close()
        rocksdb_options_destroy(options)
        rocksdb_writeoptions_destroy(plainWrite)
        rocksdb_writeoptions_destroy(syncedWrite)
        rocksdb_readoptions_destroy(readOptions)
    }

    /// Closes the database; later calls throw `closed`. Waits for calls in flight.
    func close() {
        lifetime.withWriteLock {
            guard let database = handle else { return }
            for family in families { if let family { rocksdb_column_family_handle_destroy(family) } }
            families = []
            rocksdb_close(database)
            handle = nil
        }
    }

    /// The value under `key`, or nil.
    func get(_ family: ColumnFamily, _ key: [UInt8]) throws(StorageError) -> [UInt8]? {
        try lifetime.withReadLock { () throws(StorageError) -> [UInt8]? in
            guard let database = handle else { throw .closed }
            var error: UnsafeMutablePointer<CChar>?
            var length = 0
            let value = key.withUnsafeBufferPointer { key in
                key.withMemoryRebound(to: CChar.self) { key in
                    rocksdb_get_cf(database, readOptions, families[family.rawValue], key.baseAddress, key.count, &length, &error)
                }
            }
            if let message = Self.take(error) { throw Self.error(message, path: path, operation: "read") }
            guard let value else { return nil }
            defer { rocksdb_free(value) }
            return Array(UnsafeRawBufferPointer(start: value, count: length))
        }
    }

    /// Visits keys from `start` (inclusive) to `end` (exclusive, nil for no
    /// bound) in order, while `visit` returns true.
    func scan(
        _ family: ColumnFamily, from start: [UInt8], to end: [UInt8]?,
        _ visit: (_ key: [UInt8], _ value: [UInt8]) throws(StorageError) -> Bool
    ) throws(StorageError) {
        try lifetime.withReadLock { () throws(StorageError) in
            guard let database = handle else { throw .closed }
            let scanOptions = rocksdb_readoptions_create()
            defer { rocksdb_readoptions_destroy(scanOptions) }
            rocksdb_readoptions_set_verify_checksums(scanOptions, 1)
            // The bound must outlive the iterator.
            let bound: [CChar] = (end ?? []).map { CChar(bitPattern: $0) }
            try bound.withUnsafeBufferPointer { bound throws(StorageError) in
                if end != nil { rocksdb_readoptions_set_iterate_upper_bound(scanOptions, bound.baseAddress, bound.count) }
                guard let iterator = rocksdb_create_iterator_cf(database, scanOptions, families[family.rawValue]) else {
                    throw .io(path: path, operation: "scan", detail: "RocksDB returned no iterator")
                }
                defer { rocksdb_iter_destroy(iterator) }
                start.withUnsafeBufferPointer { start in
                    start.withMemoryRebound(to: CChar.self) { rocksdb_iter_seek(iterator, $0.baseAddress, $0.count) }
                }
                while rocksdb_iter_valid(iterator) != 0 {
                    var keyLength = 0, valueLength = 0
                    let key = Array(UnsafeRawBufferPointer(start: rocksdb_iter_key(iterator, &keyLength), count: keyLength))
                    let value = Array(UnsafeRawBufferPointer(start: rocksdb_iter_value(iterator, &valueLength), count: valueLength))
                    guard try visit(key, value) else { return }
                    rocksdb_iter_next(iterator)
                }
                var error: UnsafeMutablePointer<CChar>?
                rocksdb_iter_get_error(iterator, &error)
                if let message = Self.take(error) { throw Self.error(message, path: path, operation: "scan") }
            }
        }
    }

    /// The first and last keys of `family`, or nil when it is empty.
    func boundaryKeys(_ family: ColumnFamily) throws(StorageError) -> (first: [UInt8], last: [UInt8])? {
        try lifetime.withReadLock { () throws(StorageError) -> (first: [UInt8], last: [UInt8])? in
            guard let database = handle else { throw .closed }
            guard let iterator = rocksdb_create_iterator_cf(database, readOptions, families[family.rawValue]) else {
                throw .io(path: path, operation: "scan", detail: "RocksDB returned no iterator")
            }
            defer { rocksdb_iter_destroy(iterator) }
            func currentKey() -> [UInt8]? {
                guard rocksdb_iter_valid(iterator) != 0 else { return nil }
                var length = 0
                return Array(UnsafeRawBufferPointer(start: rocksdb_iter_key(iterator, &length), count: length))
            }
            rocksdb_iter_seek_to_first(iterator)
            let first = currentKey()
            rocksdb_iter_seek_to_last(iterator)
            let last = currentKey()
            var error: UnsafeMutablePointer<CChar>?
            rocksdb_iter_get_error(iterator, &error)
            if let message = Self.take(error) { throw Self.error(message, path: path, operation: "scan") }
            guard let first, let last else { return nil }
            return (first, last)
        }
    }

    /// Applies `writes` as one WriteBatch; with `sync`, the write-ahead log is
    /// fsynced before this returns. Returns the failure instead of throwing,
    /// for the group committer.
    func write(_ writes: WriteSet, sync: Bool) -> StorageError? {
        lifetime.withReadLock { () -> StorageError? in
            guard let database = handle else { return .closed }
            let batch = rocksdb_writebatch_create()
            defer { rocksdb_writebatch_destroy(batch) }
            writes.forEach { operation in
                switch operation {
                case let .put(family, key, value):
                    rocksdb_writebatch_put_cf(
                        batch, families[family.rawValue],
                        key.baseAddress?.assumingMemoryBound(to: CChar.self), key.count,
                        value.baseAddress?.assumingMemoryBound(to: CChar.self), value.count
                    )
                case let .delete(family, key):
                    rocksdb_writebatch_delete_cf(
                        batch, families[family.rawValue], key.baseAddress?.assumingMemoryBound(to: CChar.self), key.count
                    )
                case let .deleteRange(family, start, end):
                    rocksdb_writebatch_delete_range_cf(
                        batch, families[family.rawValue],
                        start.baseAddress?.assumingMemoryBound(to: CChar.self), start.count,
                        end.baseAddress?.assumingMemoryBound(to: CChar.self), end.count
                    )
                }
            }
            var error: UnsafeMutablePointer<CChar>?
            rocksdb_write(database, sync ? syncedWrite : plainWrite, batch, &error)
            if let message = Self.take(error) { return Self.error(message, path: path, operation: "write") }
            return nil
        }
    }

    /// How many times RocksDB synced its write-ahead log (its
    /// `rocksdb.wal.synced` ticker), or nil without `collectStatistics`.
    var walSyncs: UInt64? {
        guard let text = rocksdb_options_statistics_get_string(options) else { return nil }
        defer { rocksdb_free(text) }
        for line in String(cString: text).split(separator: "\n") where line.hasPrefix("rocksdb.wal.synced ") {
            return line.split(separator: " ").last.flatMap { UInt64($0) }
        }
        return nil
    }

    /// Flushes memtables to table files (tests use it to reach the SST files).
    func flush() throws(StorageError) {
        try lifetime.withReadLock { () throws(StorageError) in
            guard let database = handle else { throw .closed }
            let flushOptions = rocksdb_flushoptions_create()
            defer { rocksdb_flushoptions_destroy(flushOptions) }
            rocksdb_flushoptions_set_wait(flushOptions, 1)
            for family in ColumnFamily.allCases {
                var error: UnsafeMutablePointer<CChar>?
                rocksdb_flush_cf(database, flushOptions, families[family.rawValue], &error)
                if let message = Self.take(error) { throw Self.error(message, path: path, operation: "flush") }
            }
        }
    }

    // MARK: Errors

    /// The message of a RocksDB error, freeing it.
    private static func take(_ error: UnsafeMutablePointer<CChar>?) -> String? {
        guard let error else { return nil }
        defer { rocksdb_free(error) }
        return String(cString: error)
    }

    /// A typed error for a RocksDB status message.
    static func error(_ message: String, path: String, operation: String) -> StorageError {
        let file = mentionedPath(in: message) ?? path
        if message.hasPrefix("Corruption") {
            return .corrupted(path: file, detail: "RocksDB reports \"\(message)\" during \(operation)")
        }
        if message.contains("No space left on device") || message.contains("Disk quota exceeded") {
            return .diskFull(path: file, detail: message)
        }
        if message.contains("Read-only file system") || message.contains("Permission denied")
            || message.contains("Operation not permitted") {
            return .readOnly(path: file, detail: message)
        }
        if message.contains("While lock file") || message.contains("lock hold by current process") {
            return .locked(directory: path, holderPID: nil)
        }
        return .io(path: file, operation: operation, detail: message)
    }

    /// The first absolute path in a RocksDB message (they name the file at fault).
    private static func mentionedPath(in message: String) -> String? {
        let characters = Array(message)
        guard let slash = characters.indices.first(where: { characters[$0] == "/" && $0 > 0 && characters[$0 - 1] == " " }) else {
            return nil
        }
        var end = slash
        while end < characters.count && !" :,".contains(characters[end]) { end += 1 }
        return String(characters[slash..<end])
    }
}

private func strdupOrFail(_ string: String) -> UnsafeMutablePointer<CChar> {
    guard let copy = strdup(string) else { fatalError("out of memory") }
    return copy
}
