import Foundation
import RaftCore
@testable import Storage

/// The backends every conformance test runs against.
enum Backend: String, CaseIterable, CustomStringConvertible, Sendable {
    case memory
    case rocksDB

    var description: String { rawValue }
}

/// A fresh directory under the system's temporary directory, removed on deinit.
final class TemporaryDirectory {
    let path: String

    init(_ name: String = "storage") {
        path = NSTemporaryDirectory() + "caravan-\(name)-\(UUID().uuidString)"
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// A store of either backend, with its directory kept alive as long as it is.
final class StoreFixture {
    let backend: Backend
    private(set) var raft: any RaftPersistence
    private(set) var keyValues: any KeyValueStore
    private(set) var rocks: RocksDBStore?
    let directory: TemporaryDirectory?
    let confState: ConfState

    init(_ backend: Backend, confState: ConfState = ConfState(voters: [1, 2, 3])) throws {
        self.backend = backend
        self.confState = confState
        switch backend {
        case .memory:
            let store = InMemoryStore(confState: confState)
            raft = store.raft
            keyValues = store.keyValues
            directory = nil
        case .rocksDB:
            let directory = TemporaryDirectory()
            let store = try RocksDBStore(path: directory.path, options: .init(initialConfState: confState))
            raft = store.raft
            keyValues = store.keyValues
            rocks = store
            self.directory = directory
        }
    }

    /// Closes and reopens a durable store; the in-memory one stays as it is.
    func reopen() throws {
        guard let rocks, let directory else { return }
        rocks.close()
        let store = try RocksDBStore(path: directory.path, options: .init(initialConfState: confState))
        raft = store.raft
        keyValues = store.keyValues
        self.rocks = store
    }

    deinit {
        rocks?.close()
    }
}

/// Entries `range` in `term`, each with a payload that names it.
func makeEntries(_ range: ClosedRange<UInt64>, term: UInt64, size: Int = 8) -> [Entry] {
    range.map { index in
        Entry(term: term, index: index, data: (0..<size).map { UInt8(truncatingIfNeeded: index &* 13 &+ term &+ UInt64($0)) })
    }
}

/// Flips one bit of the byte at `offset` in the file at `path`.
func flipByte(in path: String, at offset: Int) throws {
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(offset))
    let byte = try handle.read(upToCount: 1) ?? Data()
    try handle.seek(toOffset: UInt64(offset))
    try handle.write(contentsOf: Data([(byte.first ?? 0) ^ 0x10]))
    try handle.synchronize()
}

/// The files under `directory` whose name ends with `suffix`, largest first.
func files(in directory: String, endingWith suffix: String) throws -> [String] {
    let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(suffix) }
    return try names.map { directory + "/" + $0 }.sorted {
        let a = try FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int ?? 0
        let b = try FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int ?? 0
        return a > b
    }
}

/// The error opening the store at `path` gives, or nil when it opens (it is closed again).
func openFailure(_ path: String) -> StorageError? {
    do {
        let store = try RocksDBStore(path: path)
        store.close()
        return nil
    } catch {
        return error
    }
}
