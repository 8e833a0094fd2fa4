import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Small files read and written with plain system calls: the ones the kernel
/// makes up as they are read (`/proc`, `/sys/fs/cgroup`), the supervisor's
/// exit status, WebAssembly modules, and whole buffers written to a
/// descriptor (log files, the installed supervisor).
///
/// The exec driver reads them on every task's start, stop and stats. Read
/// through Foundation, each cost a large heap allocation and its page faults:
/// with many tasks starting and ending, `cgroup.procs` alone took an eighth of
/// the driver's CPU.
enum KernelFile {
    /// The whole file as text, or nil when it cannot be read.
    static func text(at path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return bytes(of: fd).map { String(decoding: $0, as: UTF8.self) }
    }

    /// What is left to read from `fd`, or nil on an error.
    static func bytes(of fd: Int32) -> [UInt8]? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[..<count])
        }
    }

    /// Writes all `count` bytes at `pointer` (retrying short writes); false on an error.
    static func writeAll(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Bool {
        var done = 0
        while done < count {
            let written = write(fd, pointer + done, count - done)
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            done += written
        }
        return true
    }

    /// Writes `value` in one write, as the kernel's files expect.
    static func put(_ value: String, at path: String) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        var value = value
        let written = value.withUTF8 { write(fd, $0.baseAddress, $0.count) }
        guard written >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }
}
