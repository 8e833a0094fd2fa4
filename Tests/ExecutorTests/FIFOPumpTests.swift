import Foundation
import Testing

@testable import Executor

@Suite("log pumps")
struct FIFOPumpTests {
    @Test("a pump holds its pipe open: a writer closing is no end-of-file, and finish keeps all that was written, for many pipes at once")
    func pipesOutliveTheirWriters() async throws {
        let directory = try makeTaskDirectory()
        let count = 200
        var pumps: [(pump: FIFOPump, name: String, text: String)] = []
        for i in 0..<count {
            let fifo = directory.root + "/task\(i).fifo"
            try #require(mkfifo(fifo, 0o600) == 0)
            let name = "task\(i).stdout"
            let pump = try FIFOPump(path: fifo, rotator: LogRotator(directory: directory.logs, name: name, policy: LogPolicy()))
            let writer = open(fifo, O_WRONLY | O_NONBLOCK)
            try #require(writer >= 0, "the pump holds the pipe open for reading")
            let text = String(repeating: "line \(i)\n", count: i % 7 + 1)
            let written = text.utf8.withContiguousStorageIfAvailable { write(writer, $0.baseAddress, $0.count) }
            #expect(written == text.utf8.count)
            close(writer)
            pumps.append((pump, name, text))
        }
        #expect(await eventually { pumps.allSatisfy { LogReader(directory: directory.logs, name: $0.name).readText() == $0.text } })
        #expect(pumps.allSatisfy { !$0.pump.isClosed })
        for (pump, name, text) in pumps {
            pump.finish()
            #expect(LogReader(directory: directory.logs, name: name).readText() == text)
        }
        #expect(await eventually { pumps.allSatisfy { $0.pump.isClosed } })
    }

    @Test("a pump on a named pipe opened read-write reads across writers until finished, then closes it")
    func fifoReadsUntilFinished() async throws {
        let directory = try makeTaskDirectory()
        let fifo = directory.root + "/out.fifo"
        try #require(mkfifo(fifo, 0o600) == 0)
        let pump = try FIFOPump(path: fifo, rotator: LogRotator(directory: directory.logs, name: "out", policy: LogPolicy()))
        for word in ["one\n", "two\n"] {
            let writer = open(fifo, O_WRONLY)
            try #require(writer >= 0)
            _ = word.utf8.withContiguousStorageIfAvailable { write(writer, $0.baseAddress, $0.count) }
            close(writer)
        }
        #expect(await eventually { LogReader(directory: directory.logs, name: "out").readText() == "one\ntwo\n" })
        #expect(!pump.isClosed)
        pump.finish()
        #expect(await eventually { pump.isClosed })
    }
}
