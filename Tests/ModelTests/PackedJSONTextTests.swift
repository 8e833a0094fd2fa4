import Foundation
import Testing
import Model

/// `Packed.jsonText` writes what `JSONEncoder` with `.sortedKeys` writes for
/// the same value, byte for byte: API payloads go out that way.
@Suite struct PackedJSONTextTests {
    func expectSameText<T: Encodable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let expected = String(decoding: try encoder.encode(value), as: UTF8.self)
        let text = try Packed.jsonText(Packed.encode(value)).map { String(decoding: $0, as: UTF8.self) }
        #expect(text == expected, sourceLocation: sourceLocation)
    }

    @Test func domainValuesReadTheSame() throws {
        let node = Node(id: "n1", datacenter: "dc2", attributes: ["kernel.name": "linux", "日本": "🚀", "Z": "a/b"],
                        resources: NodeResources(cpu: 4000, cores: 4, memoryMB: 8192),
                        drivers: ["exec": DriverInfo()], datasets: ["wiki": DatasetInfo(sizeBytes: 1 << 40)])
        try expectSameText(node)
        try expectSameText(PackedCodingTests.allocation)
        try expectSameText(Evaluation(id: "e1", jobID: "web", trigger: .nodeUpdate, nodeID: "n1", waitUntil: Timestamp(seconds: -99)))
        let spec = try JobSpec(document: SpecValue(json: #"""
            {"id": "web", "type": "service", "meta": {"a": "b", "B": "c\"\n\t\u0001"}, "groups": [{"name": "g", "count": 3,
             "tasks": [{"name": "t", "driver": "exec", "config": {"command": "/bin/echo", "args": ["x", 1, 2.5, 1e300, -0.0, 3.0, true, null]},
             "resources": {"cpu": 100, "memory_mb": 64}}]}]}
            """#.utf8))
        try expectSameText(Job(spec: spec, version: 3))
    }

    @Test func scalarsReadTheSame() throws {
        try expectSameText([Int.min, -1, 0, 1, Int.max])
        try expectSameText([UInt64.max, 0])
        try expectSameText([0.1, -2.5e-7, 1e-300, 123456789.125, 100, -0.0])
        try expectSameText([Float(0.1), 3, -1.5e-3])
        try expectSameText(["", "a\u{0}b\u{1F}", "日本🚀", "\\/\"", "\u{7F}"])
        try expectSameText([1: "a", 2: "b"] as [Int: String])
        try expectSameText(["k": nil, "j": 3] as [String: Int?])
        try expectSameText([[1, 2], [], [3]] as [[Int]])
        try expectSameText(["b": [true, false], "a": []] as [String: [Bool]])
    }

    /// JSON has no NaN or infinity: nil, where `JSONEncoder` throws.
    @Test func nonFiniteNumbersHaveNoText() throws {
        #expect(Packed.jsonText(try Packed.encode([1.0, .nan])) == nil)
        #expect(Packed.jsonText(try Packed.encode(["x": -Double.infinity])) == nil)
        #expect(Packed.jsonText(Array("{}".utf8)) == nil, "not Packed")
    }
}
