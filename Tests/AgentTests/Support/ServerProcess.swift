import API
import Foundation
import GRPCCore
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
        httpPort = try freePort()
        connection = try ClusterConnection(address: PeerAddress(host: "127.0.0.1", port: port))
        child = try ChildProcess(
            arguments: ["server", "--name", name, "--grpc-port", String(port), "--http-port", String(httpPort)] + arguments,
            logPath: "\(logDirectory)/\(name).log")
    }

    var isRunning: Bool { child.isRunning }

    /// Starts the process again with the same arguments (after ``kill()`` or ``terminate()``).
    func restart() throws {
        connection.close()
        connection = try ClusterConnection(address: address)
        try child.launch()
    }

    func kill() { child.kill() }
    func terminate() { child.terminate() }
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

/// A free TCP port on 127.0.0.1 (bound once and released).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw HarnessError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw HarnessError("bind() failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw HarnessError("getsockname() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
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
