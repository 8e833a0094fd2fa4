import Foundation
import RaftCore
import Synchronization
import Transport

/// Raft messages/s and MB/s between two processes over loopback, through
/// `PeerTransport` and `RaftListener`: once in plaintext (the baseline) and
/// once over mutual TLS, each with small and large appends.
///
/// The benchmark runs itself a second time as the follower
/// (`TransportThroughput --peer …`), which answers each append with an
/// appendResponse on its own connection back, as Raft does. The leader keeps
/// a window of unacknowledged appends in flight (as Raft's pipelining does),
/// so nothing is dropped and the figures count delivered messages only.
///
///     cd Benchmarks && swift run -c release TransportThroughput
@main
struct TransportThroughput {
    static func main() async throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "--peer" {
            try await Follower.run(Array(arguments.dropFirst()))
            return
        }
        let pki = try BenchmarkPKI()
        defer { pki.remove() }
        print("TransportThroughput: two processes on 127.0.0.1, \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print("workload                         security      messages      seconds     messages/s       MB/s")
        let workloads = [
            // One append in flight: messages/s is the inverse of the round trip.
            Workload(name: "round trips, 1 entry of 128 B", payload: 128, count: 5_000, window: 1),
            Workload(name: "append, 1 entry of 128 B", payload: 128, count: 200_000, window: 2_048),
            Workload(name: "append, 16 entries of 128 B", payload: 128, entries: 16, count: 20_000, window: 256),
            Workload(name: "append, 1 entry of 64 KiB", payload: 64 << 10, count: 4_000, window: 64),
        ]
        for workload in workloads {
            for tls in [false, true] {
                let result = try await measure(workload, files: tls ? pki : nil)
                let seconds = result.seconds
                let messages = Double(workload.count) / seconds
                let megabytes = Double(workload.count * workload.entries * workload.payload) / seconds / 1e6
                print(
                    workload.name.padding(toLength: 32, withPad: " ", startingAt: 0) + " "
                        + (tls ? "mTLS" : "plaintext").padding(toLength: 10, withPad: " ", startingAt: 0)
                        + String(format: "%12d %12.2f %14.0f %10.1f", workload.count, seconds, messages, megabytes)
                )
            }
        }
    }

    struct Workload {
        var name: String
        var payload: Int
        var entries = 1
        var count: Int
        /// Appends in flight at most.
        var window: Int
    }

    struct Result {
        var seconds: Double
    }

    static func measure(_ workload: Workload, files: BenchmarkPKI?) async throws -> Result {
        let security = try files.map { try TransportSecurityConfiguration.mutualTLS($0.leader) } ?? .plaintext()
        let acks = AckCounter()
        let authorizer = PeerAuthorizer.requiring([.server], under: security)
        let listener = try await RaftListener(host: "127.0.0.1", port: 0, security: security, authorizer: authorizer) { messages in
            var highest: UInt64 = 0
            for message in messages where message.type == .appendResponse { highest = max(highest, message.index) }
            if highest > 0 { acks.acknowledge(upTo: highest) }
        }
        defer { listener.close() }
        let endpoint = ServerEndpoint(security: security, services: [RaftService(authorizer: authorizer, raftPort: listener.port)])
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await endpoint.run() }
            let port = try await endpoint.listeningPort
            let follower = try FollowerProcess(leaderPort: port, files: files?.follower)
            defer { follower.stop() }

            let transport = PeerTransport(configuration: PeerTransport.Configuration(localID: 1), security: security)
            transport.setPeer(2, address: PeerAddress(host: "127.0.0.1", port: follower.port))
            group.addTask { await transport.run() }

            let payload = [UInt8](repeating: 0x5A, count: workload.payload)
            // Warm up: connect and complete one round trip before timing.
            transport.send(Message(type: .append, from: 1, to: 2, term: 1, index: 1, entries: [Entry(term: 1, index: 1, data: payload)]))
            await acks.wait(until: 1)

            let start = ContinuousClock.now
            var next: UInt64 = 2
            let last = UInt64(workload.count) + 1
            while next <= last {
                let limit = min(last, acks.acknowledged + UInt64(workload.window))
                while next <= limit {
                    let first = (next - 1) * UInt64(workload.entries) + 1
                    let entries = (0..<UInt64(workload.entries)).map { Entry(term: 1, index: first + $0, data: payload) }
                    // The follower acknowledges `index`: one per message.
                    let message = Message(type: .append, from: 1, to: 2, term: 1, index: next, entries: entries)
                    if !transport.send(message) { fatalError("a message was dropped: the window exceeds the queue") }
                    next += 1
                }
                // Half a window more acknowledged, or everything sent (acks
                // may already have caught up with what was just sent).
                await acks.wait(until: min(next - 1, acks.acknowledged + UInt64(workload.window / 2) + 1))
            }
            await acks.wait(until: last)
            let elapsed = ContinuousClock.now - start
            transport.shutdown()
            endpoint.shutdown()
            group.cancelAll()
            let parts = elapsed.components
            return Result(seconds: Double(parts.seconds) + Double(parts.attoseconds) / 1e18)
        }
    }
}

/// The highest acknowledged index, and tasks waiting for it to reach a value.
final class AckCounter: Sendable {
    private let state = Mutex<(acknowledged: UInt64, waiters: [(UInt64, CheckedContinuation<Void, Never>)])>((0, []))

    var acknowledged: UInt64 { state.withLock { $0.acknowledged } }

    func acknowledge(upTo index: UInt64) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard index > state.acknowledged else { return [] }
            state.acknowledged = index
            let ready = state.waiters.filter { $0.0 <= index }.map(\.1)
            state.waiters.removeAll { $0.0 <= index }
            return ready
        }
        for waiter in ready { waiter.resume() }
    }

    func wait(until index: UInt64) async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.acknowledged >= index { return true }
                state.waiters.append((index, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }
}

/// A CA and two server certificates in a temporary directory.
struct BenchmarkPKI {
    let directory: String
    let leader: TLSFiles
    let follower: TLSFiles

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("caravan-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ca = try CertificateAuthority.create()
        let caPath = try CertificateFiles.write(ca, into: directory).certificatePath
        let first = try CertificateFiles.write(try ca.issue(role: .server), into: directory)
        let second = try CertificateFiles.write(try ca.issue(role: .server), into: directory)
        leader = TLSFiles(caPath: caPath, certificatePath: first.certificatePath, keyPath: first.keyPath)
        follower = TLSFiles(caPath: caPath, certificatePath: second.certificatePath, keyPath: second.keyPath)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

/// This executable, started again in `--peer` mode.
final class FollowerProcess {
    let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    let port: Int

    init(leaderPort: Int, files: TLSFiles?) throws {
        process.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        var arguments = ["--peer", "--reply-to", "127.0.0.1:\(leaderPort)"]
        if let files { arguments += ["--ca", files.caPath, "--cert", files.certificatePath, "--key", files.keyPath] }
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        var line = Data()
        while true {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("LISTENING "), let port = Int(text.dropFirst("LISTENING ".count)) else {
            throw FollowerError(description: "the follower did not start: \"\(text)\"")
        }
        self.port = port
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

struct FollowerError: Error, CustomStringConvertible {
    var description: String
}

/// The follower: answers each append with an appendResponse at the append's `index`.
enum Follower {
    static func run(_ arguments: [String]) async throws {
        var options: [String: String] = [:]
        var iterator = arguments.makeIterator()
        while let flag = iterator.next(), let value = iterator.next() { options[flag] = value }
        guard let replyTo = options["--reply-to"].flatMap(PeerAddress.init) else {
            throw FollowerError(description: "--reply-to HOST:PORT is required")
        }
        let security: TransportSecurityConfiguration
        if let ca = options["--ca"], let cert = options["--cert"], let key = options["--key"] {
            security = try .mutualTLS(TLSFiles(caPath: ca, certificatePath: cert, keyPath: key))
        } else {
            security = .plaintext()
        }
        let peers = PeerTransport(configuration: PeerTransport.Configuration(localID: 2), security: security)
        peers.setPeer(1, address: replyTo)
        let authorizer = PeerAuthorizer.requiring([.server], under: security)
        let listener = try await RaftListener(host: "127.0.0.1", port: 0, security: security, authorizer: authorizer) { messages in
            for message in messages where message.type == .append {
                peers.send(Message(type: .appendResponse, from: 2, to: 1, term: message.term, index: message.index))
            }
        }
        let endpoint = ServerEndpoint(security: security, services: [RaftService(authorizer: authorizer, raftPort: listener.port)])
        Thread.detachNewThread {
            while (try? FileHandle.standardInput.read(upToCount: 4096))?.isEmpty == false {}
            exit(0)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await endpoint.run() }
            group.addTask { await peers.run() }
            let port = try await endpoint.listeningPort
            FileHandle.standardOutput.write(Data("LISTENING \(port)\n".utf8))
            _ = try await group.next()
        }
    }
}
