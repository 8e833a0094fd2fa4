import CDirectoryEntries
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Directory trees created and removed with plain system calls.
///
/// A busy client creates and removes a task directory tree for every
/// allocation. Foundation's `createDirectory` builds URLs and checks every
/// parent, and `FileManager.removeItem` stats every entry, walks each
/// directory twice and bridges every name through Foundation: each was a
/// twentieth of such a client's CPU. Here a directory whose parent exists
/// takes one `mkdir`; for removal each directory is opened once, relative to
/// its parent, its entries read with getdents64 and told apart by the type
/// it reports, and removed with `unlinkat`.
public enum DirectoryTree {
    /// Creates the directory `path` (absolute) and any missing parents, with
    /// `mode` (parents 0755). An existing directory is left as it is.
    /// - Returns: nil when it exists now, or the path that could not be made and why.
    public static func create(atPath path: String, mode: mode_t = 0o755) -> (path: String, errno: Int32)? {
        if mkdir(path, mode) == 0 { return nil }
        switch errno {
        case EEXIST:
            var info = stat()
            return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR ? nil : (path, ENOTDIR)
        case ENOENT:
            guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return (path, ENOENT) }
            if let failure = create(atPath: String(path[..<slash])) { return failure }
            return mkdir(path, mode) == 0 || errno == EEXIST ? nil : (path, errno)
        default:
            return (path, errno)
        }
    }

    /// `path` made absolute (against the working directory) and lexically
    /// normal: without `.` and `..` components or repeated and trailing
    /// slashes. Symbolic links are not resolved. This is what
    /// `URL.standardizedFileURL` gives, at a fraction of its cost.
    public static func normalized(_ path: String) -> String {
        var components: [Substring] = []
        if !path.hasPrefix("/") {
            components = FileManager.default.currentDirectoryPath.split(separator: "/")
        }
        for component in path.split(separator: "/") {
            switch component {
            case ".": continue
            case "..": _ = components.popLast()
            default: components.append(component)
            }
        }
        return "/" + components.joined(separator: "/")
    }

    /// Removes `path` and everything under it, without following symbolic
    /// links (a link is removed, not what it points at).
    /// - Returns: true when nothing is left at `path` (also when nothing was there).
    @discardableResult
    public static func remove(atPath path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            switch errno {
            case ENOENT: return true
            case ENOTDIR, ELOOP: return unlink(path) == 0 || errno == ENOENT
            default: return false
            }
        }
        let emptied = removeContents(of: fd)
        return (rmdir(path) == 0 || errno == ENOENT) && emptied
    }

    /// Removes everything in the open directory `fd`, and closes it. The
    /// entries are read with getdents64 itself: `fdopendir` would add an
    /// fstat and an fcntl for every directory.
    private static func removeContents(of fd: Int32) -> Bool {
        defer { close(fd) }
        var removedAll = true
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let count = caravan_getdents64(fd, buffer.baseAddress, UInt(buffer.count))
            guard count > 0 else { return count == 0 && removedAll }
            var offset = 0
            while offset < count {
                // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, name.
                let record = buffer.baseAddress! + offset
                let length = Int(record.loadUnaligned(fromByteOffset: 16, as: UInt16.self))
                let type = record.load(fromByteOffset: 18, as: UInt8.self)
                let name = (record + 19).assumingMemoryBound(to: CChar.self)
                offset += length
                if name[0] == 0x2E && (name[1] == 0 || (name[1] == 0x2E && name[2] == 0)) { continue }  // . and ..
                removedAll = remove(name, of: type, in: fd) && removedAll
            }
        }
    }

    /// Removes the entry `name` of directory `fd`, of `d_type` `type`.
    private static func remove(_ name: UnsafePointer<CChar>, of type: UInt8, in fd: Int32) -> Bool {
        var isDirectory = type == UInt8(DT_DIR)
        if type == UInt8(DT_UNKNOWN) {
            var info = stat()
            isDirectory = fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 && info.st_mode & S_IFMT == S_IFDIR
        }
        guard isDirectory else { return unlinkat(fd, name, 0) == 0 || errno == ENOENT }
        let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard child >= 0 else { return errno == ENOENT }
        let emptied = removeContents(of: child)
        return (unlinkat(fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT) && emptied
    }
}
