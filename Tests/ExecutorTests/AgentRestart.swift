import Foundation
import Testing

@testable import Executor
@testable import ExecutorTestAgent

/// Starts `spec` from a separate process (`ExecutorTestAgent`) that exits right
/// after the start, as an agent that restarts would; returns the handle it printed.
func startInAnotherAgent(_ spec: TaskSpec, in directory: TaskDirectory, dockerSocket: String? = nil) throws -> TaskHandle {
    let executable = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        .deletingLastPathComponent().appendingPathComponent("ExecutorTestAgent")
    let requestPath = directory.root + "/agent-request.json"
    try JSONEncoder().encode(AgentRequest(spec: spec, directory: directory, dockerSocket: dockerSocket))
        .write(to: URL(fileURLWithPath: requestPath))
    let process = Process()
    process.executableURL = executable
    process.arguments = [requestPath]
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    let errors = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw TaskDriverError.startFailed(taskID: spec.id, reason: String(decoding: errors, as: UTF8.self))
    }
    return try TaskHandle.decode(from: output)
}
