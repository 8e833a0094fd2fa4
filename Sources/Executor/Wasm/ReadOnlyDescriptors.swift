import Synchronization
import WasmKit

/// Which of a guest's WASI descriptors lead into a read-only mount, and which
/// calls on them would write.
///
/// WasmKit's host file system grants every preopen full rights, so the driver
/// enforces read-only mounts itself, at the WASI boundary: the preopens of
/// read-only mounts start the set, and it follows the descriptors the guest
/// makes from them (`path_open`: files and directories under a read-only
/// directory are read-only too), moves (`fd_renumber`: the entry keeps its
/// read-only mark under its new number, and a number renumbered over loses the
/// mark of the entry it held) and drops (`fd_close`).
///
/// Refused on a read-only descriptor, with `EROFS`: `path_open` for creating,
/// truncating, appending or with a write right; creating, removing, renaming,
/// linking and symlinking under it (as source or target); changing times; and
/// writing, allocating or resizing through it.
struct ReadOnlyDescriptors: Sendable {
    /// WASI errno `rofs`: read-only file system.
    static let readOnlyFileSystem: UInt32 = 69
    /// `path_open` rights that mean writing: fd_datasync, fd_write, fd_allocate,
    /// fd_filestat_set_size. (wasi-libc asks for these only for O_WRONLY/O_RDWR.)
    static let writeRights: UInt64 = (1 << 0) | (1 << 6) | (1 << 8) | (1 << 22)
    /// `oflags` creat and trunc.
    static let writeOpenFlags: UInt32 = (1 << 0) | (1 << 3)
    /// `fdflags` append.
    static let appendFlag: UInt32 = 1 << 0

    /// The read-only descriptors.
    private(set) var descriptors: Set<UInt32>

    /// The set for preopens numbered from 3 in the order of `readOnly`.
    init(preopensReadOnly readOnly: [Bool]) {
        descriptors = Set(readOnly.enumerated().filter(\.element).map { UInt32(3 + $0.offset) })
    }

    /// Whether `call` with `arguments` would write under a read-only mount.
    func refuses(_ call: String, _ arguments: [Value]) -> Bool {
        func isReadOnly(_ index: Int) -> Bool { Self.i32(arguments, index).map(descriptors.contains) ?? false }
        switch call {
        case "path_open":
            // (fd, dirflags, path, path_len, oflags, rights_base, rights_inheriting, fdflags, opened_fd)
            guard isReadOnly(0) else { return false }
            let oflags = Self.i32(arguments, 4) ?? 0
            let rights = Self.i64(arguments, 5) ?? 0
            let fdflags = Self.i32(arguments, 7) ?? 0
            return oflags & Self.writeOpenFlags != 0 || rights & Self.writeRights != 0 || fdflags & Self.appendFlag != 0
        case "path_create_directory", "path_remove_directory", "path_unlink_file", "path_filestat_set_times",
            "fd_write", "fd_pwrite", "fd_allocate", "fd_filestat_set_size", "fd_filestat_set_times":
            return isReadOnly(0)
        case "path_rename":
            // (fd, old_path, old_path_len, new_fd, new_path, new_path_len)
            return isReadOnly(0) || isReadOnly(3)
        case "path_symlink":
            // (old_path, old_path_len, fd, new_path, new_path_len)
            return isReadOnly(2)
        case "path_link":
            // (old_fd, old_flags, old_path, old_path_len, new_fd, new_path, new_path_len)
            return isReadOnly(0) || isReadOnly(4)
        default:
            return false
        }
    }

    /// Follows the descriptors a call that succeeded made, moved or dropped.
    /// `openedDescriptor` reads the descriptor `path_open` wrote to the guest.
    mutating func record(_ call: String, _ arguments: [Value], openedDescriptor: () -> UInt32?) {
        switch call {
        case "path_open":
            guard let directory = Self.i32(arguments, 0), let opened = openedDescriptor() else { return }
            if descriptors.contains(directory) { descriptors.insert(opened) } else { descriptors.remove(opened) }
        case "fd_renumber":
            guard let from = Self.i32(arguments, 0), let to = Self.i32(arguments, 1), from != to else { return }
            if descriptors.remove(from) != nil { descriptors.insert(to) } else { descriptors.remove(to) }
        case "fd_close":
            if let fd = Self.i32(arguments, 0) { descriptors.remove(fd) }
        default:
            break
        }
    }

    static func i32(_ values: [Value], _ index: Int) -> UInt32? {
        guard index < values.count, case .i32(let value) = values[index] else { return nil }
        return value
    }

    static func i64(_ values: [Value], _ index: Int) -> UInt64? {
        guard index < values.count, case .i64(let value) = values[index] else { return nil }
        return value
    }
}

/// ``ReadOnlyDescriptors`` shared with the WASI host functions of one guest.
final class ReadOnlyGuard: Sendable {
    private let state: Mutex<ReadOnlyDescriptors>

    init(_ descriptors: ReadOnlyDescriptors) {
        state = Mutex(descriptors)
    }

    func refuses(_ call: String, _ arguments: [Value]) -> Bool {
        state.withLock { $0.refuses(call, arguments) }
    }

    func record(_ call: String, _ arguments: [Value], openedDescriptor: () -> UInt32?) {
        state.withLock { $0.record(call, arguments, openedDescriptor: openedDescriptor) }
    }
}
