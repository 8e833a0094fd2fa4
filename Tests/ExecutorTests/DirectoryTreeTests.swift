import Foundation
import Testing

@testable import Executor

@Suite("Directory tree removal")
struct DirectoryTreeTests {
    @Test("removes a task directory tree with its files, however deep")
    func removesNestedTree() throws {
        let directory = try makeTaskDirectory()
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory.local + "/a/b/c", withIntermediateDirectories: true)
        for path in [directory.local + "/a/b/c/file", directory.local + "/a/top", directory.logs + "/t.stdout.0", directory.root + "/.hidden"] {
            #expect(fm.createFile(atPath: path, contents: Data("x".utf8)))
        }
        try fm.createDirectory(atPath: directory.outputs + "/empty", withIntermediateDirectories: true)
        #expect(DirectoryTree.remove(atPath: directory.root))
        #expect(!fm.fileExists(atPath: directory.root))
    }

    @Test("removes a symbolic link, not what it points at")
    func doesNotFollowLinks() throws {
        let directory = try makeTaskDirectory()
        let outside = try makeTaskDirectory("outside")
        let kept = outside.local + "/kept"
        #expect(FileManager.default.createFile(atPath: kept, contents: Data("keep".utf8)))
        try FileManager.default.createSymbolicLink(atPath: directory.local + "/link", withDestinationPath: outside.local)
        #expect(DirectoryTree.remove(atPath: directory.root))
        #expect(!FileManager.default.fileExists(atPath: directory.root))
        #expect(FileManager.default.contents(atPath: kept) == Data("keep".utf8))
        // A link given as the path is removed itself.
        let link = outside.root + "/to-local"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: outside.local)
        #expect(DirectoryTree.remove(atPath: link))
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == nil)
        #expect(FileManager.default.fileExists(atPath: kept))
    }

    @Test("a missing path is already removed; a file is removed")
    func missingPathAndPlainFile() throws {
        let directory = try makeTaskDirectory()
        #expect(DirectoryTree.remove(atPath: directory.root + "/never"))
        let file = directory.local + "/file"
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        #expect(DirectoryTree.remove(atPath: file))
        #expect(!FileManager.default.fileExists(atPath: file))
    }
}
