import API
import Foundation
import GRPCCore
import LoopbackPorts
import Transport

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The directory of the built products (`.build/debug`): beside the test bundle.
func productsDirectory() -> URL {
    let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var directory = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
    while directory.pathExtension == "xctest" || directory.lastPathComponent == "MacOS" || directory.lastPathComponent == "Contents" {
        directory = directory.deletingLastPathComponent()
    }
    return directory
}

/// A built executable: `CARAVAN`/`CARAVAND` when set, else beside the test bundle.
func executable(_ name: String, override variable: String) throws -> String {
    let path = ProcessInfo.processInfo.environment[variable] ?? productsDirectory().appendingPathComponent(name).path
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw HarnessError("no \(name) at \(path): build it with `swift build --build-tests` (or set \(variable))")
    }
    return path
}

/// What a finished `caravan` invocation printed and how it exited.
struct CLIResult: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String

    var description: String { "exit \(status)\n--- stdout:\n\(stdout)\n--- stderr:\n\(stderr)" }

    /// stdout parsed as JSON.
    func json() throws -> Any {
        try JSONSerialization.jsonObject(with: Data(stdout.utf8))
    }
}

/// Runs `caravan` with `arguments` and `environment` (added to a clean
/// one without CARAVAN_* variables), killing it after `timeout`.
func caravan(_ arguments: [String], environment: [String: String] = [:], stdin: String? = nil, timeout: Duration = .seconds(60)) async throws -> CLIResult {
    let path = try executable("caravan", override: "CARAVAN")
    let directory = NSTemporaryDirectory() + "caravan-cli-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let outPath = directory + "/stdout", errPath = directory + "/stderr"
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CARAVAN_") }
    env.merge(environment) { _, new in new }
    process.environment = env
    // Files, not pipes: nothing can block on a full pipe.
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    if let stdin {
        let inPath = directory + "/stdin"
        _ = FileManager.default.createFile(atPath: inPath, contents: Data(stdin.utf8))
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: inPath))
    } else {
        process.standardInput = FileHandle.nullDevice
    }
    let exited = AsyncStream<Void>.makeStream()
    process.terminationHandler = { _ in exited.continuation.yield(); exited.continuation.finish() }
    try process.run()
    let watchdog = Task {
        try await Task.sleep(for: timeout)
        process.terminate()
    }
    for await _ in exited.stream {}
    watchdog.cancel()
    let result = CLIResult(
        status: process.terminationStatus,
        stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    if process.terminationReason == .uncaughtSignal {
        throw HarnessError("caravan \(arguments.joined(separator: " ")) was killed (timed out after \(timeout)?)\n\(result)")
    }
    return result
}

/// A single-node `caravand server` on 127.0.0.1 with in-memory state: it
/// bootstraps a cluster of itself and leads it.
final class ServerProcess: @unchecked Sendable {
    let port: Int
    let directory: String
    let process = Process()
    let connection: ClusterConnection

    var address: String { "127.0.0.1:\(port)" }
    var log: String { (try? String(contentsOfFile: directory + "/s1.log", encoding: .utf8)) ?? "" }

    init() throws {
        port = try LoopbackPort.next()
        directory = NSTemporaryDirectory() + "caravan-cli-server-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let logPath = directory + "/s1.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: try executable("caravand", override: "CARAVAND"))
        process.arguments = [
            "server", "--name", "s1", "--bind", "127.0.0.1", "--grpc-port", String(port), "--http-port", "0",
            "--peers", "s1=127.0.0.1:\(port)",
        ]
        process.standardOutput = log
        process.standardError = log
        connection = try ClusterConnection(address: PeerAddress(host: "127.0.0.1", port: port))
        try process.run()
    }

    /// Waits until the server leads its cluster (it answers, and knows itself as leader).
    func awaitLeader(timeout: Duration = .seconds(30)) async throws {
        var options = CallOptions.defaults
        options.timeout = .seconds(2)
        options.waitForReady = true
        try await eventually("server s1 on \(address) leads", timeout: timeout) {
            guard process.isRunning else { throw HarnessError("caravand exited:\n\(log)") }
            let status = try await connection.cluster.status(Caravan_Api_V1_GetStatusRequest(), options: options)
            return status.role == "leader"
        }
    }

    func stop() {
        connection.close()
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Runs `body` against a fresh single-node server, printing its log when `body` throws.
func withServer<T>(_ body: (ServerProcess) async throws -> T) async throws -> T {
    let server = try ServerProcess()
    defer { server.stop() }
    do {
        try await server.awaitLeader()
        return try await body(server)
    } catch {
        print("--- caravand log:\n\(server.log)")
        throw error
    }
}

/// Waits for `condition` (another process's state, which can only be asked
/// for) to hold, checking every 20 ms, for at most `timeout`.
func eventually(_ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    var lastError: (any Error)?
    while ContinuousClock.now < deadline {
        do {
            if try await condition() { return }
        } catch let error as HarnessError {
            throw error
        } catch {
            lastError = error
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw HarnessError("timed out after \(timeout) waiting for: \(what)\(lastError.map { " (last error: \($0))" } ?? "")")
}

/// The repository's `Examples/jobs` directory.
func exampleJob(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Examples/jobs/\(name)").path
}
