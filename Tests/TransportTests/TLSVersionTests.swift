import Foundation
import GRPCCore
import RaftCore
import Testing
import Transport

/// Caravan's ports speak TLS 1.3 only. gRPC's transport sets a minimum of 1.2
/// with no setting to raise it; `TLSVersionGate` ends connections that
/// negotiated less. The TLS 1.2 peer here is `openssl s_client`, the only
/// client at hand that can be held to 1.2.
@Suite(.serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: OpenSSLClient.path), "needs \(OpenSSLClient.path)"))
struct TLSVersionTests {
    @Test(.timeLimit(.minutes(1)))
    func aTLS12OnlyClientIsCutOffAfterItsHandshakeAndATLS13OneIsServed() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try await withRaftServer(security: try pki.security(pki.server)) { port, inbox in
            // TLS 1.2, with a valid server certificate: the handshake completes
            // (so the refusal is not about the certificate), then the server
            // closes without answering the HTTP/2 preface.
            let old = try OpenSSLClient.run(version: "-tls1_2", port: port, files: pki.server2)
            #expect(old.stderr.contains("Protocol version: TLSv1.2"), "\(old.stderr)")
            #expect(old.stdout.isEmpty, "the server answered a TLS 1.2 connection with \(old.stdout.count) bytes")

            // TLS 1.3, same certificate: the server answers the preface with its SETTINGS frame.
            let current = try OpenSSLClient.run(version: "-tls1_3", port: port, files: pki.server2)
            #expect(current.stderr.contains("Protocol version: TLSv1.3"), "\(current.stderr)")
            #expect(current.stdout.count >= 9 && current.stdout[3] == 0x04, "no HTTP/2 SETTINGS frame: \(Array(current.stdout.prefix(16)))")
            #expect(inbox.messages.isEmpty)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func theRaftPortRefusesATLS12Handshake() async throws {
        // The Raft port's own TLS layer allows 1.3 only: a 1.2-only client
        // does not even complete its handshake; a 1.3 one does.
        let pki = try TestPKI()
        defer { pki.remove() }
        try await withRaftServer(security: try pki.security(pki.server)) { _, raftPort, inbox in
            let old = try OpenSSLClient.run(version: "-tls1_2", port: raftPort, files: pki.server2)
            #expect(!old.stderr.contains("Protocol version:"), "\(old.stderr)")
            #expect(old.stderr.contains("alert protocol version") || old.stderr.contains("unsupported protocol"), "\(old.stderr)")
            #expect(old.stdout.isEmpty)
            let current = try OpenSSLClient.run(version: "-tls1_3", port: raftPort, files: pki.server2)
            #expect(current.stderr.contains("Protocol version: TLSv1.3"), "\(current.stderr)")
            #expect(inbox.messages.isEmpty)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func ourClientRefusesATLS12OnlyServer() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        // A server that holds to TLS 1.2, with a valid server certificate and
        // asking for ours: only the version is wrong.
        let server = Process()
        server.executableURL = URL(fileURLWithPath: OpenSSLClient.path)
        server.arguments = [
            "s_server", "-accept", "0", "-tls1_2", "-alpn", "h2", "-naccept", "1",
            "-cert", pki.server2.certificatePath, "-key", pki.server2.keyPath,
            "-CAfile", pki.caPath, "-Verify", "1",
        ]
        let output = Pipe()
        server.standardOutput = output
        server.standardError = Pipe()
        server.standardInput = Pipe()
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        var text = ""
        // s_server prints "ACCEPT [::]:<port>" once it listens.
        while !(text.contains("ACCEPT") && text.hasSuffix("\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        let port = try #require(text.split(separator: "\n").first { $0.hasPrefix("ACCEPT") }?.split(separator: ":").last.flatMap { Int($0) }, "\(text)")
        let error = await #expect(throws: RPCError.self) {
            try await PeerProbe.send(
                [Message(type: .heartbeat, from: 1, to: 2)], to: PeerAddress(host: "127.0.0.1", port: port),
                security: try pki.security(pki.server), localID: 1
            )
        }
        let chain = error.map(failureChain) ?? ""
        #expect(error?.code == .unavailable, "\(chain)")
        #expect(chain.contains("the connection negotiated tlsv12; TLS 1.3 is required"), "\(chain)")
    }

    @Test(.timeLimit(.minutes(1)))
    func ourOwnPeersNegotiateTLS13() async throws {
        // Every mTLS call between our peers passes the gate, which admits 1.3 only.
        let pki = try TestPKI()
        defer { pki.remove() }
        try await withRaftServer(security: try pki.security(pki.server)) { port, inbox in
            let ack = try await PeerProbe.send(
                [Message(type: .heartbeat, from: 2, to: 1)], to: PeerAddress(host: "127.0.0.1", port: port),
                security: try pki.security(pki.server2), localID: 2
            )
            #expect(ack.messages == 1)
            #expect(inbox.messages == [Message(type: .heartbeat, from: 2, to: 1)])
        }
    }
}

/// `openssl s_client` as a TLS probe: it sends the HTTP/2 client preface and
/// an empty SETTINGS frame and returns what the server sent back.
enum OpenSSLClient {
    static let path = "/usr/bin/openssl"

    struct Result {
        var stdout: Data
        var stderr: String
    }

    /// Connects with `version` (`-tls1_2`, `-tls1_3`) presenting `files`;
    /// reads the server's first frame header, or to the end if the server
    /// closes first, then ends its input (which ends the client).
    static func run(version: String, port: Int, files: TLSFiles) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = [
            "s_client", "-connect", "127.0.0.1:\(port)", version, "-brief", "-alpn", "h2",
            "-servername", "server.global.caravan", "-CAfile", files.caPath,
            "-cert", files.certificatePath, "-key", files.keyPath,
        ]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let preface = Data("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + Data([0, 0, 0, 4, 0, 0, 0, 0, 0])
        try input.fileHandleForWriting.write(contentsOf: preface)
        var received = Data()
        while received.count < 9 {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            received.append(chunk)
        }
        try input.fileHandleForWriting.close()
        received.append(output.fileHandleForReading.readDataToEndOfFile())
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Result(stdout: received, stderr: stderr)
    }
}
