import Foundation

/// Reads one output stream of a task from the files a ``LogRotator`` writes,
/// oldest first; while the task runs it can follow the stream as it grows.
public struct LogReader: Sendable, Hashable {
    /// The directory of the files.
    public let directory: String
    /// The stream's base name, such as `web.stdout`.
    public let name: String

    /// A reader of `<directory>/<name>.N`.
    public init(directory: String, name: String) {
        self.directory = directory
        self.name = name
    }

    /// The indices of the stream's files, ascending.
    public var fileIndices: [Int] { Self.indices(directory: directory, name: name) }

    /// Whether the writer has closed the stream.
    public var isComplete: Bool { FileManager.default.fileExists(atPath: Self.completionMarker(directory: directory, name: name)) }

    /// Everything still kept, oldest first.
    public func readAll() -> [UInt8] {
        var bytes: [UInt8] = []
        for index in fileIndices {
            if let data = FileManager.default.contents(atPath: Self.path(directory: directory, name: name, index: index)) {
                bytes.append(contentsOf: data)
            }
        }
        return bytes
    }

    /// Everything still kept, as UTF-8 text.
    public func readText() -> String { String(decoding: readAll(), as: UTF8.self) }

    /// The stream as chunks of bytes, oldest first.
    ///
    /// - Parameters:
    ///   - follow: keep reading as the stream grows, until the writer closes it
    ///     (or the consuming task is cancelled). Without it, the sequence ends at
    ///     the current end of the stream.
    ///   - pollInterval: how often a following reader looks for new data.
    public func chunks(follow: Bool = false, pollInterval: Duration = .milliseconds(25)) -> AsyncThrowingStream<[UInt8], any Error> {
        let reader = self
        return AsyncThrowingStream { continuation in
            let task = Task {
                var index = reader.fileIndices.first ?? 0
                var offset: UInt64 = 0
                do {
                    while !Task.isCancelled {
                        let indices = reader.fileIndices
                        if let first = indices.first, index < first {
                            index = first
                            offset = 0
                        }
                        let complete = reader.isComplete
                        let bytes = try reader.read(index: index, from: offset)
                        if !bytes.isEmpty {
                            offset += UInt64(bytes.count)
                            continuation.yield(bytes)
                            continue
                        }
                        if let next = indices.first(where: { $0 > index }) {
                            index = next
                            offset = 0
                            continue
                        }
                        if complete || !follow { break }
                        try await Task.sleep(for: pollInterval)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func read(index: Int, from offset: UInt64) throws -> [UInt8] {
        let path = Self.path(directory: directory, name: name, index: index)
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        try handle.seek(toOffset: offset)
        return [UInt8](try handle.read(upToCount: 1 << 20) ?? Data())
    }

    static func path(directory: String, name: String, index: Int) -> String {
        "\(directory)/\(name).\(index)"
    }

    static func completionMarker(directory: String, name: String) -> String {
        "\(directory)/.\(name).complete"
    }

    static func indices(directory: String, name: String) -> [Int] {
        let prefix = name + "."
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.compactMap { entry -> Int? in
            guard entry.hasPrefix(prefix) else { return nil }
            return Int(entry.dropFirst(prefix.count))
        }.sorted()
    }
}
