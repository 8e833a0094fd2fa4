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
}
