import Foundation
import Testing

/// A client no one here wrote: Python's grpcio, with stubs generated from
/// `Protos/` at test time, talks to a real server.
@Suite(.serialized) struct ForeignClientTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func aPythonGrpcioClientRegistersListsAndStopsJobs() async throws {
        try await withCluster(size: 1, durable: false) { cluster in
            let server = try await cluster.leader()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [
                "python3", Self.repository.appendingPathComponent("Tests/AgentTests/Python/caravan_client.py").path,
                Self.repository.appendingPathComponent("Protos").path, server.address.description,
            ]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            print(text)
            #expect(process.terminationStatus == 0, "python client failed (needs `pip install grpcio grpcio-tools`, which `make test` does):\n\(text)")
            #expect(text.contains("stopped at index"))
        }
    }
}
