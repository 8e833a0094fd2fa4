import Foundation
import Transport

/// A `caravand client` child process with its own data directory.
final class ClientProcess: @unchecked Sendable {
    let name: String
    let dataDirectory: String
    private let child: ChildProcess

    var allocationsDirectory: String { dataDirectory + "/allocations" }

    init(name: String, servers: [PeerAddress], directory: String, extra: [String] = []) throws {
        self.name = name
        dataDirectory = "\(directory)/\(name)"
        child = try ChildProcess(
            arguments: ["client", "--node-name", name, "--servers", servers.map(\.description).joined(separator: ","),
                        "--client-data-dir", dataDirectory] + extra,
            logPath: "\(directory)/\(name).log")
    }

    var isRunning: Bool { child.isRunning }
    /// How the process ended ("status 0", "signal 6"); nil while it runs.
    var exit: String? { child.exit }
    func restart() throws { try child.launch() }
    func kill() { child.kill() }
    func terminate() { child.terminate() }
    func pause() { child.pause() }
    func resume() { child.resume() }
    var log: String { child.log }
}
