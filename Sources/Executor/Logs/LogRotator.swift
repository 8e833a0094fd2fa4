import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes one output stream of a task to rotating files `<name>.0`, `<name>.1`, …
/// in a directory: the file with the highest index is the one being written;
/// once it holds `maxFileSize` bytes the next index is opened, and only the
/// newest `maxFiles` files are kept.
///
/// A new rotator on a directory that already holds files of the same name
/// appends to the newest one (so logs continue across an agent restart).
/// ``close()`` marks the stream complete, which ends a following ``LogReader``.
public final class LogRotator: Sendable {
    /// The directory of the files.
    public let directory: String
    /// The stream's base name, such as `web.stdout`.
    public let name: String
    /// The size at which a file is rotated.
    public let maxFileSize: Int
    /// How many files are kept.
    public let maxFiles: Int

    private struct State {
        var fd: Int32 = -1
        /// The index being written; found at the first write.
        var index: Int?
        var size = 0
        var closed = false
    }

    private let state: Mutex<State>

    /// Opens the stream for writing; its file is opened at the first write.
    ///
    /// A busy client opens two streams per task, most of which never see a
    /// byte: an open file per stream made every process the client spawned
    /// close thousands of inherited descriptors, and Foundation's file calls
    /// (atomic creates, recursive directory creation) were a visible part of
    /// its CPU. So the directory is created, and searched for the newest
    /// file, only at the first write or at ``close()``; files are opened,
    /// created and marked with plain system calls.
    public init(directory: String, name: String, policy: LogPolicy) {
        self.directory = directory
        self.name = name
        self.maxFileSize = policy.maxFileSize
        self.maxFiles = policy.maxFiles
        // A run before this one marked the stream complete; this one has not.
        unlink(LogReader.completionMarker(directory: directory, name: name))
        state = Mutex(State())
    }

    deinit {
        state.withLock { state in
            if state.fd >= 0 { closeDescriptor(state.fd) }
        }
    }

    /// Appends `bytes`, rotating as needed. Writes after ``close()`` are dropped.
    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        state.withLock { state in
            var offset = 0
            while offset < bytes.count, !state.closed {
                if state.fd < 0 { openCurrent(&state) }
                if state.size >= maxFileSize { rotate(&state) }
                guard state.fd >= 0 else { return }
                let count = min(maxFileSize - state.size, bytes.count - offset)
                guard KernelFile.writeAll(state.fd, base + offset, count) else { return }
                state.size += count
                offset += count
            }
        }
    }

    /// Appends `bytes`, rotating as needed.
    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    /// Closes the stream and marks it complete; readers that follow it finish.
    public func close() {
        state.withLock { state in
            guard !state.closed else { return }
            state.closed = true
            if state.fd >= 0 { closeDescriptor(state.fd) }
            state.fd = -1
            let marker = create(LogReader.completionMarker(directory: directory, name: name), O_WRONLY)
            if marker >= 0 { closeDescriptor(marker) }
        }
    }

    /// Opens the file being written (appending to what an earlier writer left).
    private func openCurrent(_ state: inout State) {
        let index = state.index ?? LogReader.indices(directory: directory, name: name).last ?? 0
        state.index = index
        state.fd = create(LogReader.path(directory: directory, name: name, index: index), O_WRONLY | O_APPEND)
        var info = stat()
        state.size = state.fd >= 0 && fstat(state.fd, &info) == 0 ? Int(info.st_size) : 0
    }

    private func rotate(_ state: inout State) {
        if state.fd >= 0 { closeDescriptor(state.fd) }
        let index = (state.index ?? 0) + 1
        state.index = index
        state.size = 0
        state.fd = create(LogReader.path(directory: directory, name: name, index: index), O_WRONLY | O_TRUNC | O_APPEND)
        let indices = LogReader.indices(directory: directory, name: name)
        for old in indices.dropLast(maxFiles) {
            unlink(LogReader.path(directory: directory, name: name, index: old))
        }
    }

    /// Opens `path` with `flags`, creating it, and the directory when that is missing.
    private func create(_ path: String, _ flags: Int32) -> Int32 {
        let fd = open(path, flags | O_CREAT | O_CLOEXEC, 0o644)
        guard fd < 0, errno == ENOENT else { return fd }
        _ = DirectoryTree.create(atPath: directory)
        return open(path, flags | O_CREAT | O_CLOEXEC, 0o644)
    }
}

// At file scope, where `close` is the system call, not the rotator's method.
private func closeDescriptor(_ fd: Int32) { _ = close(fd) }
