import Foundation

/// A `caravand` child process whose output goes to a log file that failing
/// tests print; it can be started again with the same arguments.
final class ChildProcess: @unchecked Sendable {
    let arguments: [String]
    let logPath: String
    private(set) var process = Process()

    init(arguments: [String], logPath: String) throws {
        self.arguments = arguments
        self.logPath = logPath
        try launch()
    }

    /// Starts the process (again, after ``kill()`` or ``terminate()``).
    func launch() throws {
        precondition(!process.isRunning)
        let path = ServerProcess.executablePath
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw HarnessError("no caravand at \(path): build it with `swift build --build-tests` (or set CARAVAND)")
        }
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    var isRunning: Bool { process.isRunning }

    /// How the process ended ("status 0", "signal 6"); nil while it runs.
    var exit: String? {
        guard !process.isRunning else { return nil }
        return "\(process.terminationReason == .uncaughtSignal ? "signal" : "status") \(process.terminationStatus)"
    }

    func kill() {
        guard process.isRunning else { return }
        _ = Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func terminate() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// Sends SIGTERM without waiting for the process to end.
    func signalTerminate() { if process.isRunning { process.terminate() } }

    func pause() { _ = Foundation.kill(process.processIdentifier, SIGSTOP) }
    func resume() { _ = Foundation.kill(process.processIdentifier, SIGCONT) }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    deinit { kill() }
}
