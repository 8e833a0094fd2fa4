import Foundation
import NIOCore
import NIOPosix
import RaftCore
import Synchronization
import Testing
import Transport

/// Certificates made at test time in a fresh temporary directory: a cluster
/// CA with server, client and CLI certificates; a second, unrelated CA with a
/// server certificate; and an expired server certificate from the cluster CA.
struct TestPKI: Sendable {
    let directory: String
    let caPath: String
    let server: TLSFiles
    let server2: TLSFiles
    let client: TLSFiles
    let cli: TLSFiles
    let expiredServer: TLSFiles
    let otherCAServer: TLSFiles

    init(region: String = "global") throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("caravan-transport-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ca = try CertificateAuthority.create()
        caPath = try CertificateFiles.write(ca, into: directory).certificatePath
        let directory = self.directory
        let caPath = self.caPath
        func files(_ issued: IssuedCertificate, ca: String = caPath) throws -> TLSFiles {
            let written = try CertificateFiles.write(issued, into: directory)
            return TLSFiles(caPath: ca, certificatePath: written.certificatePath, keyPath: written.keyPath)
        }
        server = try files(ca.issue(role: .server, region: region))
        server2 = try files(ca.issue(role: .server, region: region))
        client = try files(ca.issue(role: .client, region: region))
        cli = try files(ca.issue(role: .cli, region: region))
        let now = Date()
        expiredServer = try files(ca.issue(
            role: .server, region: region,
            notValidBefore: now.addingTimeInterval(-10 * 86_400), notValidAfter: now.addingTimeInterval(-86_400)
        ))
        let otherDirectory = directory + "/other"
        try FileManager.default.createDirectory(atPath: otherDirectory, withIntermediateDirectories: true)
        let other = try CertificateAuthority.create(commonName: "Someone Else's CA")
        let otherCA = try CertificateFiles.write(other, into: otherDirectory).certificatePath
        let otherWritten = try CertificateFiles.write(try other.issue(role: .server, region: region), into: otherDirectory)
        otherCAServer = TLSFiles(caPath: otherCA, certificatePath: otherWritten.certificatePath, keyPath: otherWritten.keyPath)
    }

    func security(_ files: TLSFiles) throws -> TransportSecurityConfiguration {
        try TransportSecurityConfiguration.mutualTLS(files)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Collects the messages a `RaftListener` receives, for a test to await.
final class Inbox: Sendable {
    private struct Waiter {
        var id: Int
        var count: Int
        var continuation: CheckedContinuation<Void, Never>
    }
    private let state = Mutex<(messages: [Message], waiters: [Waiter], nextID: Int)>(([], [], 0))

    func receive(_ messages: [Message]) {
        let ready = state.withLock { state -> [Waiter] in
            state.messages.append(contentsOf: messages)
            let count = state.messages.count
            let ready = state.waiters.filter { $0.count <= count }
            state.waiters.removeAll { $0.count <= count }
            return ready
        }
        for waiter in ready { waiter.continuation.resume() }
    }

    var messages: [Message] { state.withLock { $0.messages } }

    /// Returns once at least `count` messages arrived, or when the task is
    /// cancelled (so a `withTimeout` around it ends instead of hanging).
    func waitFor(count: Int) async {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.messages.count >= count || Task.isCancelled { return true }
                    state.waiters.append(Waiter(id: id, count: count, continuation: continuation))
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            cancelled?.continuation.resume()
        }
    }
}

struct TimeoutError: Error, CustomStringConvertible {
    var description: String
}

/// Runs `body`, failing with `TimeoutError` if it takes longer than `limit`
/// (a guard against hangs; tests await their conditions, they do not sleep).
func withTimeout<T: Sendable>(
    _ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw TimeoutError(description: "timed out after \(limit) waiting for \(what)")
        }
        return value
    }
}

/// A server's Raft ends for a test: a `RaftListener` delivering into an
/// `Inbox`, and a `ServerEndpoint` serving the `RaftService` that names its
/// port, run for the test's duration. `body` gets the gRPC port (a peer's
/// address) and the Raft port.
func withRaftServer<T: Sendable>(
    security: TransportSecurityConfiguration,
    _ body: @escaping @Sendable (_ port: Int, _ inbox: Inbox) async throws -> T
) async throws -> T {
    try await withRaftServer(security: security) { port, _, inbox in try await body(port, inbox) }
}

func withRaftServer<T: Sendable>(
    security: TransportSecurityConfiguration, grpcPort: Int = 0, group: (any EventLoopGroup)? = nil,
    receive: (@Sendable (Inbox, [Message]) -> Void)? = nil,
    _ body: @escaping @Sendable (_ port: Int, _ raftPort: Int, _ inbox: Inbox) async throws -> T
) async throws -> T {
    let inbox = Inbox()
    let authorizer = PeerAuthorizer.requiring([.server], under: security)
    let listener = try await RaftListener(
        host: "127.0.0.1", port: 0, security: security, authorizer: authorizer,
        group: group ?? MultiThreadedEventLoopGroup.singleton
    ) { messages in
        if let receive { receive(inbox, messages) } else { inbox.receive(messages) }
    }
    let endpoint = ServerEndpoint(port: grpcPort, security: security, services: [RaftService(authorizer: authorizer, raftPort: listener.port)])
    let serving = Task { try await endpoint.run() }
    let outcome: Result<T, any Error>
    do {
        outcome = .success(try await body(try await endpoint.listeningPort, listener.port, inbox))
    } catch {
        outcome = .failure(error)
    }
    listener.close()
    await stopGracefully(endpoint, serving: serving)
    return try outcome.get()
}

/// Stops a server run in `serving` gracefully, as the server agent does, and
/// cancels it only if it has not ended after `grace`: cancelling a gRPC server
/// that holds an accepted connection no handler has taken yet traps in
/// SwiftNIO ("Deinited NIOAsyncWriter without calling finish()"), which ended
/// a CI run once.
func stopGracefully(_ endpoint: ServerEndpoint, serving: Task<Void, any Error>, grace: Duration = .seconds(2)) async {
    endpoint.shutdown()
    let deadline = Task {
        try? await Task.sleep(for: grace)
        serving.cancel()
    }
    _ = try? await serving.value
    deadline.cancel()
}
