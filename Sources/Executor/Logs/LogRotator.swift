import Foundation
import Synchronization

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
        var handle: FileHandle?
        var index: Int
        var size: Int
        var closed = false
    }

    private let state: Mutex<State>

    /// Opens the stream for writing.
    public init(directory: String, name: String, policy: LogPolicy) throws {
        self.directory = directory
        self.name = name
        self.maxFileSize = policy.maxFileSize
        self.maxFiles = policy.maxFiles
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: LogReader.completionMarker(directory: directory, name: name))
        let index = LogReader.indices(directory: directory, name: name).last ?? 0
        let path = LogReader.path(directory: directory, name: name, index: index)
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        let size = Int(try handle.seekToEnd())
        state = Mutex(State(handle: handle, index: index, size: size))
    }

    /// Appends `bytes`, rotating as needed. Writes after ``close()`` are dropped.
    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        state.withLock { state in
            var offset = 0
            while offset < bytes.count, !state.closed {
                if state.size >= maxFileSize { rotate(&state) }
                guard let handle = state.handle else { return }
                let count = min(maxFileSize - state.size, bytes.count - offset)
                handle.write(Data(bytes: base + offset, count: count))
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
            try? state.handle?.close()
            state.handle = nil
            _ = FileManager.default.createFile(atPath: LogReader.completionMarker(directory: directory, name: name), contents: nil)
        }
    }

    private func rotate(_ state: inout State) {
        try? state.handle?.close()
        state.index += 1
        state.size = 0
        let path = LogReader.path(directory: directory, name: name, index: state.index)
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        state.handle = try? FileHandle(forWritingTo: URL(fileURLWithPath: path))
        let indices = LogReader.indices(directory: directory, name: name)
        for old in indices.dropLast(maxFiles) {
            try? FileManager.default.removeItem(atPath: LogReader.path(directory: directory, name: name, index: old))
        }
    }
}
