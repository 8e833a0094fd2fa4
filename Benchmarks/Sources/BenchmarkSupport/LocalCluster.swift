// What the cluster benchmarks share: `caravand` processes with their logs
// in one directory, and latency percentiles.
import Foundation
import LoopbackPorts

/// `caravand` processes started by a benchmark; their logs stay in
/// `directory` until `stop()` removes it.
@MainActor
public final class LocalCluster {
    public let caravand: String
    public let directory: String
    /// The gRPC port of each server, in order s1, s2, s3…
    public let serverPorts: [Int]
    public private(set) var processes: [String: Process] = [:]

    public init(caravand: String, servers: Int) throws {
        self.caravand = caravand
        directory = NSTemporaryDirectory() + "caravan-bench-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        serverPorts = try (0..<servers).map { _ in try LoopbackPort.next() }
    }

    public var peers: String { serverPorts.enumerated().map { "s\($0.offset + 1)=127.0.0.1:\($0.element)" }.joined(separator: ",") }
    public var serverAddresses: String { serverPorts.map { "127.0.0.1:\($0)" }.joined(separator: ",") }

    /// Starts server `index` (0-based) with a RocksDB data directory (fsync on).
    public func startServer(_ index: Int) throws {
        try launch(name: "s\(index + 1)", ["server", "--name", "s\(index + 1)", "--grpc-port", "\(serverPorts[index])",
                                          "--http-port", "0", "--peers", peers, "--data-dir", "\(directory)/s\(index + 1)",
                                          "--log-level", "warning"])
    }

    public func startClient(_ name: String) throws {
        try launch(name: name, ["client", "--node-name", name, "--servers", serverAddresses,
                                "--client-data-dir", "\(directory)/\(name)", "--log-level", "warning"])
    }

    public func launch(name: String, _ arguments: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: caravand)
        p.arguments = arguments
        let log = "\(directory)/\(name).log"
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        processes[name] = p
    }

    /// kill -9, and reap.
    public func kill9(_ name: String) {
        guard let p = processes.removeValue(forKey: name) else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    /// The peak resident memory of process `name` so far (VmHWM), in MiB.
    public func peakResidentMB(_ name: String) -> Int? {
        guard let pid = processes[name]?.processIdentifier,
              let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kB = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return nil }
        return kB / 1024
    }

    /// CPU time process `name` has used so far, its own and that of its
    /// reaped children (a client's tasks), in seconds (`/proc/<pid>/stat`).
    public func cpuSeconds(_ name: String) -> (own: Double, children: Double)? {
        guard let pid = processes[name]?.processIdentifier,
              let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return nil }
        // After the command: state is field 3; utime, stime, cutime, cstime are 14-17.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 14, let utime = Double(fields[11]), let stime = Double(fields[12]),
              let cutime = Double(fields[13]), let cstime = Double(fields[14])
        else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return ((utime + stime) / ticks, (cutime + cstime) / ticks)
    }

    /// SIGTERM to every process, then waits. A process that does not exit
    /// 0 after it is printed, and the logs are kept to show why.
    public func stop(keepLogs: Bool = false) {
        for p in processes.values { p.terminate() }
        var failed = false
        for (name, p) in processes.sorted(by: { $0.key < $1.key }) {
            p.waitUntilExit()
            guard p.terminationStatus != 0 else { continue }
            failed = true
            let how = p.terminationReason == .uncaughtSignal ? "signal \(p.terminationStatus)" : "status \(p.terminationStatus)"
            print("\(name) exited with \(how) after SIGTERM; logs in \(directory)")
        }
        processes = [:]
        if keepLogs || failed || ProcessInfo.processInfo.environment["BENCH_KEEP_LOGS"] != nil {
            print("logs in \(directory)")
        } else {
            try? FileManager.default.removeItem(atPath: directory)
        }
    }
}

/// Latencies in milliseconds, sorted once.
public struct Latencies: Sendable {
    public let sorted: [Double]
    public init(_ milliseconds: [Double]) { sorted = milliseconds.sorted() }
    public func percentile(_ p: Double) -> Double {
        sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }
}

extension Duration {
    /// In seconds as a Double (named apart from Model's `seconds`, which benchmarks may import too).
    public var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    public var inMilliseconds: Double { inSeconds * 1000 }
}

/// CPU seconds (user and system) used so far by this process (`RUSAGE_SELF`,
/// every thread) or by its reaped children (`RUSAGE_CHILDREN`).
public func processCPUSeconds(_ who: __rusage_who) -> Double {
    var usage = rusage()
    getrusage(who.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

public func format(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
