import Foundation
import Transport

/// The `TransportTestPeer` executable running as a separate process.
final class PeerProcess: @unchecked Sendable {
    // Unchecked: the Process and pipes are touched only by the creating test.
    let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    let port: Int

    /// The built peer: beside the test binary, or `TRANSPORT_TEST_PEER`.
    static var executablePath: String {
        if let path = ProcessInfo.processInfo.environment["TRANSPORT_TEST_PEER"] { return path }
        let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
        while directory.pathExtension == "xctest" || directory.lastPathComponent == "MacOS" || directory.lastPathComponent == "Contents" {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("TransportTestPeer").path
    }

    /// Starts the peer and waits for it to print its port.
    init(arguments: [String], files: TLSFiles?) throws {
        let path = Self.executablePath
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TimeoutError(description: "no TransportTestPeer at \(path): build it with `swift build --build-tests` (or set TRANSPORT_TEST_PEER)")
        }
        process.executableURL = URL(fileURLWithPath: path)
        var arguments = arguments
        if let files {
            arguments += ["--ca", files.caPath, "--cert", files.certificatePath, "--key", files.keyPath]
        }
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        // The first line is `LISTENING <port>` (a blocking read: the peer prints it within moments).
        var line = Data()
        let handle = output.fileHandleForReading
        while true {
            let byte = handle.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("LISTENING "), let port = Int(text.dropFirst("LISTENING ".count)) else {
            process.terminate()
            throw TimeoutError(description: "TransportTestPeer did not start: printed \"\(text)\"")
        }
        self.port = port
    }

    /// Ends the peer (it exits when its standard input closes) and reaps it.
    func stop() {
        try? input.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
