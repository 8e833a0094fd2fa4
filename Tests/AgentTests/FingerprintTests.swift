import Executor
import Foundation
import Testing
@testable import Agent

/// What a node tells the servers about itself.
@Suite struct FingerprintTests {
    /// A data set is advertised with the bytes of the regular files under
    /// it, however deep.
    @Test func aDataSetIsAdvertisedWithTheBytesOfItsFiles() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("fingerprint-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/books/shelf", withIntermediateDirectories: true)
        try Data(count: 1_000).write(to: URL(fileURLWithPath: root + "/books/a.txt"))
        try Data(count: 234).write(to: URL(fileURLWithPath: root + "/books/shelf/b.txt"))
        var configuration = ClientConfiguration(name: "reader", servers: [])
        configuration.datasets = ["books": root + "/books", "missing": root + "/none"]

        let node = await Fingerprint.node(id: "n1", configuration: configuration, drivers: DriverRegistry(), dataDirectory: root)

        #expect(node.datasets["books"]?.sizeBytes == 1_234)
        #expect(node.datasets["missing"]?.sizeBytes == 0, "a data set that is not there is advertised empty")
        #expect(node.attributes["os.name"] == "linux")
    }

    /// A stand-in for nvidia-smi: a script that runs `body`.
    static func tool(_ body: String) throws -> (path: String, directory: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("smi-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/nvidia-smi"
        try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return (path, directory)
    }

    @Test func gpusAreGroupedByModelWithTheirIDs() throws {
        let smi = try Self.tool("printf 'GPU-1, Tesla T4, 15360\\nGPU-2, Tesla T4, 15360\\nGPU-3, A100, 40960\\n'")
        defer { try? FileManager.default.removeItem(atPath: smi.directory) }
        let groups = Fingerprint.gpus(candidates: ["/nonexistent/nvidia-smi", smi.path])
        #expect(groups.map(\.name) == ["A100", "Tesla T4"])
        #expect(groups.map(\.instanceIDs) == [["GPU-3"], ["GPU-1", "GPU-2"]])
        #expect(groups.first?.attributes["memory_mb"] == "40960")
    }

    /// A wedged driver can hang nvidia-smi: the client still starts, without GPUs.
    @Test func aHungNvidiaSmiIsKilledAndTheNodeHasNoGPUs() throws {
        let smi = try Self.tool("exec sleep 120")
        defer { try? FileManager.default.removeItem(atPath: smi.directory) }
        let started = ContinuousClock.now
        #expect(Fingerprint.gpus(candidates: [smi.path], timeout: .milliseconds(200)).isEmpty)
        #expect(ContinuousClock.now - started < .seconds(60), "it returned before the tool would have ended by itself")
    }
}
