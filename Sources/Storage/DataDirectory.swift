#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A Caravan data directory: its identity file (kind and format version), an
/// exclusive lock held while it is open, the RocksDB database and the snapshot files.
///
/// Layout: `CARAVAN-STORAGE` (identity), `caravan.lock`, `rocksdb/`, `snapshots/`.
final class DataDirectory: Sendable {
    static let identityFileName = "CARAVAN-STORAGE"
    static let lockFileName = "caravan.lock"
    static let kind = "caravan-storage"

    let path: String
    /// The descriptor holding the flock, or -1 once released.
    private let lockDescriptor: Mutex<Int32>

    var databasePath: String { path + "/rocksdb" }
    var snapshotsPath: String { path + "/snapshots" }

    /// Opens (creating if needed) the directory and takes its lock. Refuses a
    /// directory of another kind or a newer format before writing anything into it.
    init(path: String) throws(StorageError) {
        self.path = path
        try Posix.makeDirectories(path)
        let identityPath = path + "/" + Self.identityFileName
        let isNew: Bool
        if Posix.exists(identityPath) {
            try Self.checkIdentity(at: identityPath, directory: path)
            isNew = false
        } else {
            let others = try Posix.list(path).filter { $0 != Self.lockFileName }
            guard others.isEmpty else {
                let sample = others.prefix(3).joined(separator: ", ") + (others.count > 3 ? ", …" : "")
                throw .notAStorageDirectory(directory: path, found: "\(others.count) file(s): \(sample)")
            }
            isNew = true
        }
        let descriptor = try Self.lock(path + "/" + Self.lockFileName, directory: path)
        lockDescriptor = Mutex(descriptor)
        do {
            if isNew {
                let identity = "kind: \(Self.kind)\nformat: \(Storage.formatVersion)\n"
                try Posix.writeAtomically(Array(identity.utf8), to: identityPath)
            }
            try Posix.makeDirectories(snapshotsPath)
        } catch {
            // Through unlock(), which marks it released: deinit runs after a
            // throwing init too, and a second close(2) of the number could
            // close another file that reused it (another store's lock).
            unlock()
            throw error
        }
    }

    deinit {
        unlock()
    }

    /// Releases the lock (closing the descriptor releases the flock).
    func unlock() {
        lockDescriptor.withLock { descriptor in
            if descriptor >= 0 { close(descriptor) }
            descriptor = -1
        }
    }

    private static func checkIdentity(at identityPath: String, directory: String) throws(StorageError) {
        let text = String(decoding: try Posix.read(identityPath), as: UTF8.self)
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingSpaces
            fields[key] = line[line.index(after: colon)...].trimmingSpaces
        }
        guard fields["kind"] == kind else {
            throw .notAStorageDirectory(
                directory: directory,
                found: "an identity file of kind \(fields["kind"].map { "'\($0)'" } ?? "unknown"), expected '\(kind)'"
            )
        }
        guard let format = fields["format"].flatMap({ Int($0) }) else {
            throw .corrupted(path: identityPath, detail: "no readable format version")
        }
        guard format <= Storage.formatVersion else {
            throw .newerFormat(directory: directory, found: format, supported: Storage.formatVersion)
        }
    }

    /// Takes an exclusive `flock` on the lock file and records our pid in it.
    private static func lock(_ lockPath: String, directory: String) throws(StorageError) -> Int32 {
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Posix.error(errno, path: lockPath, operation: "open lock file") }
        // A lock just released can still be held for a moment: a process that
        // forks copies the descriptor, and the copy holds the flock until the
        // child's exec closes it (O_CLOEXEC). So a held lock is retried for
        // up to half a second before it counts as another process's.
        var code: Int32 = 0
        for attempt in 0..<50 {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                code = 0
                break
            }
            code = errno
            guard code == EWOULDBLOCK, attempt < 49 else { break }
            usleep(10_000)
        }
        guard code == 0 else {
            let holder = (try? Posix.read(lockPath)).flatMap { Int32(String(decoding: $0, as: UTF8.self).trimmingSpaces) }
            close(fd)
            if code == EWOULDBLOCK { throw .locked(directory: directory, holderPID: holder) }
            throw Posix.error(code, path: lockPath, operation: "lock")
        }
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 {
            try? Posix.writeAll(pid, to: fd, path: lockPath)
        }
        return fd
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }).reversed())
    }
}
