import Foundation
import Testing

@testable import Executor

@Suite("Log rotation")
struct LogRotationTests {
    @Test("rotates at the size limit and keeps only the newest files")
    func rotatesAndPrunes() throws {
        let directory = try makeTaskDirectory()
        let rotator = LogRotator(directory: directory.logs, name: "t.stdout", policy: LogPolicy(maxFileSize: 10, maxFiles: 3))
        for index in 0..<10 {
            rotator.write(Array("line\(index)\n".utf8))  // 6 bytes each: 60 bytes = 6 files of 10
        }
        rotator.close()
        let reader = LogReader(directory: directory.logs, name: "t.stdout")
        #expect(reader.fileIndices == [3, 4, 5])
        #expect(reader.readText() == "line5\nline6\nline7\nline8\nline9\n")
        #expect(reader.isComplete)
        for index in reader.fileIndices {
            let size = try FileManager.default.attributesOfItem(atPath: "\(directory.logs)/t.stdout.\(index)")[.size] as? Int
            #expect((size ?? 0) <= 10)
        }
    }

    @Test("a new rotator appends to the newest file")
    func resumesAppending() throws {
        let directory = try makeTaskDirectory()
        let policy = LogPolicy(maxFileSize: 100, maxFiles: 3)
        let first = LogRotator(directory: directory.logs, name: "t.stderr", policy: policy)
        first.write(Array("before restart\n".utf8))
        let second = LogRotator(directory: directory.logs, name: "t.stderr", policy: policy)
        second.write(Array("after restart\n".utf8))
        second.close()
        #expect(LogReader(directory: directory.logs, name: "t.stderr").readText() == "before restart\nafter restart\n")
    }

    @Test("a stream never written leaves no file; closing it marks it complete, creating its directory")
    func unwrittenStreamOnlyMarksCompletion() throws {
        let directory = try makeTaskDirectory()
        let logs = directory.root + "/not/yet/there"
        let rotator = LogRotator(directory: logs, name: "t.stdout", policy: LogPolicy())
        #expect(!FileManager.default.fileExists(atPath: logs), "nothing is created before a write or close")
        rotator.close()
        let reader = LogReader(directory: logs, name: "t.stdout")
        #expect(reader.fileIndices.isEmpty)
        #expect(reader.isComplete)
        #expect(reader.readText() == "")
    }

    @Test("a new run of a stream is not complete until it closes")
    func newRunClearsCompletion() throws {
        let directory = try makeTaskDirectory()
        let first = LogRotator(directory: directory.logs, name: "t.stdout", policy: LogPolicy())
        first.write(Array("one\n".utf8))
        first.close()
        #expect(LogReader(directory: directory.logs, name: "t.stdout").isComplete)
        let second = LogRotator(directory: directory.logs, name: "t.stdout", policy: LogPolicy())
        #expect(!LogReader(directory: directory.logs, name: "t.stdout").isComplete)
        second.write(Array("two\n".utf8))
        second.close()
        let reader = LogReader(directory: directory.logs, name: "t.stdout")
        #expect(reader.isComplete)
        #expect(reader.readText() == "one\ntwo\n")
    }

    @Test("a follower sees data as it is written, across rotations, until close")
    func followsWhileWriting() async throws {
        let directory = try makeTaskDirectory()
        let rotator = LogRotator(directory: directory.logs, name: "t.stdout", policy: LogPolicy(maxFileSize: 8, maxFiles: 100))
        let reader = LogReader(directory: directory.logs, name: "t.stdout")
        let collected = Task {
            var bytes: [UInt8] = []
            for try await chunk in reader.chunks(follow: true, pollInterval: .milliseconds(5)) { bytes += chunk }
            return String(decoding: bytes, as: UTF8.self)
        }
        var expected = ""
        for index in 0..<20 {
            let line = "chunk \(index)\n"
            expected += line
            rotator.write(Array(line.utf8))
            if index % 5 == 0 { try await Task.sleep(for: .milliseconds(10)) }
        }
        rotator.close()
        #expect(try await collected.value == expected)
    }
}
