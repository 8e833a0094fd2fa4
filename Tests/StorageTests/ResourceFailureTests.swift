import Foundation
import RaftCore
import Testing
@testable import Storage

/// A small tmpfs mounted for one test (needs root), so that a full disk and a
/// read-only file system are real, not simulated.
final class TmpfsMount {
    let path: String

    static let isAvailable: Bool = {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/bin/mount") else { return false }
        guard let probe = try? TmpfsMount(megabytes: 1) else { return false }
        _ = probe
        return true
    }()

    init(megabytes: Int) throws {
        path = NSTemporaryDirectory() + "caravan-tmpfs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", path])
    }

    func remount(_ options: String) throws {
        try Self.run("/bin/mount", ["-o", "remount,\(options)", path])
    }

    deinit {
        try? Self.run("/bin/umount", ["-l", path])
        try? FileManager.default.removeItem(atPath: path)
    }

    private static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ChildError("\(tool) \(arguments) failed: \(process.terminationStatus)") }
    }
}

@Suite(.enabled(if: TmpfsMount.isAvailable, "needs root to mount a small tmpfs"))
struct ResourceFailureTests {
    @Test func fullDiskGivesATypedErrorStopsWritesAndKeepsAcknowledgedData() throws {
        let mount = try TmpfsMount(megabytes: 16)
        let path = mount.path + "/data"
        var acknowledged: UInt64 = 0
        var failure: StorageError?
        do {
            let store = try RocksDBStore(path: path)
            defer { store.close() }
            let payload = [UInt8](repeating: 0x5a, count: 4096)
            while failure == nil && acknowledged < 100_000 {
                let entries = (acknowledged + 1...acknowledged + 16).map { Entry(term: 1, index: $0, data: payload) }
                do {
                    try store.raft.persist(entries: entries, hardState: HardState(term: 1, commit: acknowledged + 16), snapshot: nil)
                    acknowledged += 16
                } catch {
                    failure = error
                }
            }
            let error = try #require(failure)
            guard case .diskFull = error else { Issue.record("expected diskFull, got \(error)"); return }
            #expect(error.stopsWrites)
            #expect(error.description.contains("free space"))
            // Writes stay stopped; what was acknowledged is still readable.
            #expect(throws: StorageError.self) { try store.keyValues.put([1], [1]) }
            #expect(try store.raft.lastIndex() == acknowledged)
            #expect(try store.raft.entries(from: acknowledged, to: acknowledged + 1, maxBytes: .max).first?.data == payload)
        }
        // With space again, the store opens cleanly with every acknowledged entry.
        try mount.remount("size=256m")
        let store = try RocksDBStore(path: path)
        defer { store.close() }
        #expect(try store.raft.lastIndex() >= acknowledged)
        #expect(store.raft.hardState.commit >= acknowledged)
        let entries = try store.raft.entries(from: 1, to: acknowledged + 1, maxBytes: .max)
        #expect(entries.count == Int(acknowledged))
    }

    @Test func readOnlyFileSystemGivesATypedError() throws {
        let mount = try TmpfsMount(megabytes: 16)
        let path = mount.path + "/data"
        do {
            let store = try RocksDBStore(path: path)
            try store.raft.append(makeEntries(1...3, term: 1))
            store.close()
        }
        try mount.remount("ro")
        let error = try #require(openFailure(path))
        guard case let .readOnly(at, detail) = error else { Issue.record("expected readOnly, got \(error)"); return }
        #expect(at.hasPrefix(path))
        #expect(detail.contains("Read-only file system"))
        #expect(error.stopsWrites)
        let fresh = try #require(openFailure(mount.path + "/new"))
        guard case .readOnly = fresh else { Issue.record("expected readOnly, got \(fresh)"); return }
    }
}
