import Foundation
import Transport

/// A `caravand client` child process with its own data directory.
final class ClientProcess: @unchecked Sendable {
    let name: String
    let dataDirectory: String
    let arguments: [String]
    let logPath: String
    private(set) var process = Process()

    var allocationsDirectory: String { dataDirectory + "/allocations" }

    init(name: String, servers: [PeerAddress], directory: String, extra: [String] = []) throws {
        self.name = name
        dataDirectory = "\(directory)/\(name)"
        logPath = "\(directory)/\(name).log"
        arguments = ["client", "--node-name", name, "--servers", servers.map(\.description).joined(separator: ","),
                     "--client-data-dir", dataDirectory] + extra
        try launch()
    }

    private func launch() throws {
        let path = ServerProcess.executablePath
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

    func restart() throws {
        precondition(!process.isRunning)
        try launch()
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

    func pause() { _ = Foundation.kill(process.processIdentifier, SIGSTOP) }
    func resume() { _ = Foundation.kill(process.processIdentifier, SIGCONT) }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    deinit {
        if process.isRunning {
            _ = Foundation.kill(process.processIdentifier, SIGCONT)
            kill()
        }
    }
}
