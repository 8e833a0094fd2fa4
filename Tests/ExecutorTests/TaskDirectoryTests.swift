import Foundation
import Testing

@testable import Executor

@Suite("task directory")
struct TaskDirectoryTests {
    /// A fresh base directory that does not exist yet.
    func base() -> String { "/tmp/caravan-executor-tests/taskdir-\(UUID().uuidString.prefix(8))" }

    func expectLaidOut(_ directory: TaskDirectory) {
        for path in [directory.root, directory.local, directory.outputs, directory.logs, directory.secrets] {
            var isDirectory: ObjCBool = false
            #expect(FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue, "\(path)")
        }
    }

    @Test("is created whether none, one or several of its parents exist, and again over itself")
    func createdUnderAnyParents() throws {
        let root = base()
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Several levels missing, then only the allocation's, then none.
        expectLaidOut(try TaskDirectory.create(at: root + "/a/b/alloc/task"))
        expectLaidOut(try TaskDirectory.create(at: root + "/a/b/alloc2/task"))
        expectLaidOut(try TaskDirectory.create(at: root + "/a/b/alloc2/other"))
        // Over an existing one: nothing changes, nothing fails.
        expectLaidOut(try TaskDirectory.create(at: root + "/a/b/alloc2/other"))
    }

    @Test("a file where the directory should be is a clear error")
    func fileInTheWay() throws {
        let root = base()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: root + "/task", contents: Data("x".utf8)))
        #expect(throws: TaskDriverError.self) { try TaskDirectory.create(at: root + "/task") }
    }
}
