import Foundation
import Testing

@testable import Executor

@Suite("Directory trees")
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

    @Test("removes a directory whose entries take many reads")
    func removesLargeDirectory() throws {
        let directory = try makeTaskDirectory()
        // 300 names of 60 bytes: several 4 KiB getdents64 buffers.
        for i in 0..<300 {
            let name = String(format: "%04d-", i) + String(repeating: "x", count: 55)
            #expect(FileManager.default.createFile(atPath: directory.outputs + "/" + name, contents: Data()))
        }
        try FileManager.default.createDirectory(atPath: directory.outputs + "/sub", withIntermediateDirectories: true)
        #expect(DirectoryTree.remove(atPath: directory.root))
        #expect(!FileManager.default.fileExists(atPath: directory.root))
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

    @Test("creates missing parents, keeps an existing directory, and names what it could not make")
    func createsWithParents() throws {
        let directory = try makeTaskDirectory()
        let deep = directory.local + "/a/b/c"
        #expect(DirectoryTree.create(atPath: deep, mode: 0o700) == nil)
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: deep, isDirectory: &isDirectory) && isDirectory.boolValue)
        let mode = try FileManager.default.attributesOfItem(atPath: deep)[.posixPermissions] as? Int
        #expect(mode == 0o700)
        #expect(DirectoryTree.create(atPath: deep) == nil)

        let file = directory.local + "/file"
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        let onFile = DirectoryTree.create(atPath: file)
        #expect(onFile?.path == file && onFile?.errno == ENOTDIR)
        let underFile = DirectoryTree.create(atPath: file + "/x/y")
        #expect(underFile?.path == file + "/x/y" && underFile?.errno == ENOTDIR)
    }

    @Test("normalizes paths as URL.standardizedFileURL does, without resolving links")
    func normalizesPaths() {
        let cwd = FileManager.default.currentDirectoryPath
        for path in ["/a/b/../c/./d/", "//a//b", "/..", "/", "/a/b/..", "relative/./x", "../up", "/a/.hidden/..x"] {
            let expected = URL(fileURLWithPath: path.hasPrefix("/") ? path : cwd + "/" + path).standardizedFileURL.path
            #expect(DirectoryTree.normalized(path) == expected, "\(path)")
        }
    }
}
