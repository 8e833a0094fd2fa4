import API
import Foundation
import GRPCCore
import LoopbackPorts
import Transport

/// A `caravand server` child process on 127.0.0.1, its output kept in a
/// log file that failing tests print.
final class ServerProcess: @unchecked Sendable {
    let name: String
    let port: Int
    let httpPort: Int
    private let child: ChildProcess
    private(set) var connection: ClusterConnection

    var address: PeerAddress { PeerAddress(host: "127.0.0.1", port: port) }

    /// The built `caravand`: beside the test bundle, or `CARAVAND`.
    static var executablePath: String {
        if let path = ProcessInfo.processInfo.environment["CARAVAND"] { return path }
        let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
        while directory.pathExtension == "xctest" || directory.lastPathComponent == "MacOS" || directory.lastPathComponent == "Contents" {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("caravand").path
    }

    init(name: String, port: Int, arguments: [String], logDirectory: String) throws {
        self.name = name
        self.port = port
        httpPort = try LoopbackPort.next()
        connection = try ClusterConnection(address: PeerAddress(host: "127.0.0.1", port: port))
        child = try ChildProcess(
            arguments: ["server", "--name", name, "--grpc-port", String(port), "--http-port", String(httpPort)] + arguments,
            logPath: "\(logDirectory)/\(name).log")
    }

    var isRunning: Bool { child.isRunning }
    /// How the process ended ("status 0", "signal 6"); nil while it runs.
    var exit: String? { child.exit }

    /// Starts the process again with the same arguments (after ``kill()`` or ``terminate()``).
    func restart() throws {
        connection.close()
        connection = try ClusterConnection(address: address)
        try child.launch()
    }

    func kill() { child.kill() }
    func terminate() { child.terminate() }
    func signalTerminate() { child.signalTerminate() }
    func pause() { child.pause() }
    func resume() { child.resume() }

    /// The server's Raft status, or nil while it does not answer.
    func status() async -> Caravan_Api_V1_GetStatusResponse? {
        try? await connection.cluster.status(Caravan_Api_V1_GetStatusRequest(), options: Self.quick)
    }

    var log: String { child.log }

    static var quick: CallOptions {
        var options = CallOptions.defaults
        options.timeout = .seconds(2)
        // A server just started (or restarted) may not listen yet: wait for it within the timeout.
        options.waitForReady = true
        return options
    }

    deinit {
        connection.close()
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Waits for `condition` to hold, checking every 20 ms, for at most `timeout`.
/// The condition is another process's state, which can only be asked for.
func eventually(
    _ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw HarnessError("timed out after \(timeout) waiting for: \(what)")
}
