import Foundation
import RaftCore
import Testing
@testable import Storage

/// The data directory: identity, format version and the lock.
@Suite struct RocksDBDirectoryTests {
    @Test func secondOpenOfOneDirectoryIsRefused() throws {
        let directory = TemporaryDirectory()
        let store = try RocksDBStore(path: directory.path)
        #expect(throws: StorageError.locked(directory: directory.path, holderPID: getpid())) {
            _ = try RocksDBStore(path: directory.path)
        }
        store.close()
        // Once closed, it opens again.
        let again = try RocksDBStore(path: directory.path)
        again.close()
    }

    @Test func anotherProcessCannotOpenALockedDirectory() throws {
        let directory = TemporaryDirectory()
        let store = try RocksDBStore(path: directory.path)
        defer { store.close() }
        let child = try CrashChildProcess(directory: directory.path, term: 1, seed: 1)
        let result = child.waitForExit()
        #expect(result.ending == .exited(2))
        #expect(result.stderr.contains("is in use by process \(getpid())"), "\(result.stderr)")
    }

    @Test func directoryOfANewerFormatIsRefused() throws {
        let directory = TemporaryDirectory()
        try RocksDBStore(path: directory.path).close()
        let identity = directory.path + "/" + DataDirectory.identityFileName
        try "kind: caravan-storage\nformat: 99\n".write(toFile: identity, atomically: true, encoding: .utf8)
        #expect(throws: StorageError.newerFormat(directory: directory.path, found: 99, supported: Storage.formatVersion)) {
            _ = try RocksDBStore(path: directory.path)
        }
    }

    @Test func directoryOfAnotherKindIsRefusedWithoutBeingTouched() throws {
        let directory = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
        try "hello".write(toFile: directory.path + "/notes.txt", atomically: true, encoding: .utf8)
        #expect(throws: StorageError.notAStorageDirectory(directory: directory.path, found: "1 file(s): notes.txt")) {
            _ = try RocksDBStore(path: directory.path)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["notes.txt"])

        let other = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: other.path, withIntermediateDirectories: true)
        try "kind: nomad-client\nformat: 1\n".write(toFile: other.path + "/" + DataDirectory.identityFileName, atomically: true, encoding: .utf8)
        let error = try #require(openFailure(other.path))
        guard case .notAStorageDirectory = error else { Issue.record("unexpected \(error)"); return }
        #expect(error.description.contains("'nomad-client'"))
    }
}
