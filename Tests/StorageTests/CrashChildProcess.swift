import Foundation

/// The `StorageCrashChild` executable, run as a separate process whose
/// standard output (the acknowledged indices) the test reads.
final class CrashChildProcess {
    let process = Process()
    private let output = Pipe()
    private let errors = Pipe()

    /// The built child: beside the test bundle, or `STORAGE_CRASH_CHILD`.
    static var executablePath: String {
        if let path = ProcessInfo.processInfo.environment["STORAGE_CRASH_CHILD"] { return path }
        let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
        // On macOS the test binary sits inside an .xctest bundle.
        while directory.pathExtension == "xctest" || directory.lastPathComponent == "MacOS" || directory.lastPathComponent == "Contents" {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("StorageCrashChild").path
    }

    init(directory: String, term: UInt64, seed: UInt64) throws {
        let path = Self.executablePath
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ChildError("no StorageCrashChild at \(path): build it with `swift build --build-tests` (or set STORAGE_CRASH_CHILD)")
        }
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = [directory, String(term), String(seed)]
        process.standardOutput = output
        process.standardError = errors
        try process.run()
    }

    /// Reads lines until one satisfies `condition`; nil at end of output.
    func readLine(until condition: (String) -> Bool) -> String? {
        while true {
            guard let line = nextLine() else { return nil }
            if condition(line) { return line }
        }
    }

    private var buffer = Data()

    private func nextLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                return line
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
    }

    func kill() {
        _ = Foundation.kill(process.processIdentifier, SIGKILL)
    }

    /// Every remaining line of output, once the child has ended.
    func remainingLines() -> [String] {
        var lines: [String] = []
        while let line = nextLine() { lines.append(line) }
        return lines
    }

    /// Waits for the child to end; how it ended and what it wrote to stderr.
    func waitForExit() -> ChildExit {
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let ending: ChildExit.Ending = switch process.terminationReason {
        case .uncaughtSignal: .signal(process.terminationStatus)
        case .exit: .exited(process.terminationStatus)
        @unknown default: .exited(process.terminationStatus)
        }
        return ChildExit(ending: ending, stderr: stderr)
    }
}

/// How a child process ended.
struct ChildExit: CustomStringConvertible {
    enum Ending: Equatable {
        /// It called exit (or returned from main) with this status.
        case exited(Int32)
        /// A signal ended it.
        case signal(Int32)
    }

    var ending: Ending
    var stderr: String

    var description: String {
        let how = switch ending {
        case .exited(let status): "exited with status \(status)"
        case .signal(let signal): "was killed by signal \(signal)"
        }
        return stderr.isEmpty ? how : "\(how); stderr: \(stderr)"
    }
}

struct ChildError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
