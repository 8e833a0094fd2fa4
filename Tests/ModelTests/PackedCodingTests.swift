import Foundation
import Testing
import Model

/// The Packed binary form: domain values read back equal, fields added or
/// dropped between versions are tolerated as with JSON, and damaged bytes are
/// refused with an error, never a crash.
@Suite struct PackedCodingTests {
    func roundTrip<T: Codable & Equatable>(_ value: T) throws -> T {
        try Packed.decode(T.self, from: Packed.encode(value))
    }

    static let allocation = Allocation(
        id: "a1", jobID: "web", jobVersion: 3, group: "g", nodeID: "n1",
        resources: AllocatedResources(cpu: 500, memoryMB: 256),
        rescheduleTracker: [RescheduleEvent(time: Timestamp(seconds: 10), previousAllocation: "a0",
                                            previousNode: "n0", delay: .seconds(30))],
        createdAt: Timestamp(sinceEpoch: .seconds(5) + .nanoseconds(7)))

    @Test func domainValuesReadBackEqual() throws {
        let node = Node(id: "n1", datacenter: "dc2", attributes: ["kernel.name": "linux", "日本": "🚀"],
                        resources: NodeResources(cpu: 4000, cores: 4, memoryMB: 8192),
                        drivers: ["exec": DriverInfo()], datasets: ["wiki": DatasetInfo(sizeBytes: 1 << 40)])
        #expect(try roundTrip(node) == node)
        #expect(try roundTrip(Self.allocation) == Self.allocation)
        let eval = Evaluation(id: "e1", jobID: "web", trigger: .nodeUpdate, nodeID: "n1", waitUntil: Timestamp(seconds: -99))
        #expect(try roundTrip(eval) == eval)
        let plan = Plan(evaluationID: "e1", jobKey: JobKey(id: "web"), jobVersion: 3, placements: [Self.allocation],
                        stops: [AllocationStop(allocationID: "a0", nodeID: "n0", reason: "node down", clientStatus: .lost)],
                        failedPlacements: [FailedPlacement(group: "g", count: 2, explanation: PlacementExplanation(
                            nodesEvaluated: 5, filtered: ["constraint ${attr.os} = windows": 3], exhausted: ["memory": 2]))])
        #expect(try roundTrip(plan) == plan)
        let spec = try JobSpec(document: SpecValue(json: #"""
            {"id": "web", "type": "service", "meta": {"a": "b"}, "groups": [{"name": "g", "count": 3,
             "tasks": [{"name": "t", "driver": "exec", "config": {"command": "/bin/echo", "args": ["x", 1, 2.5, true, null]},
             "resources": {"cpu": 100, "memory_mb": 64}}]}]}
            """#.utf8))
        let job = Job(spec: spec, version: 3)
        #expect(try roundTrip(job) == job)
    }

    @Test func scalarsKeepTheirTypesAndRanges() throws {
        #expect(try roundTrip([Int.min, -1, 0, 1, Int.max]) == [Int.min, -1, 0, 1, Int.max])
        #expect(try roundTrip([UInt64.max, 0]) == [UInt64.max, 0])
        #expect(try roundTrip([Int8.min, Int8.max]) == [Int8.min, Int8.max])
        #expect(try roundTrip([0.1, -2.5e-7, .infinity, -0.0]) == [0.1, -2.5e-7, .infinity, -0.0])
        #expect(try roundTrip(["", "a\u{0}b", "日本🚀"]) == ["", "a\u{0}b", "日本🚀"])
        #expect(try roundTrip([1: "a", 2: "b"] as [Int: String]) == [1: "a", 2: "b"])
        #expect(try roundTrip(["k": nil, "j": 3] as [String: Int?]) == ["k": nil, "j": 3])
        #expect(try roundTrip([[1, 2], [], [3]] as [[Int]]) == [[1, 2], [], [3]])
        // An integer that does not fit the type asked for is an error, not a wrap.
        #expect(throws: DecodingError.self) { try Packed.decode(Int8.self, from: Packed.encode(300)) }
        #expect(throws: DecodingError.self) { try Packed.decode(UInt.self, from: Packed.encode(-1)) }
        #expect(throws: DecodingError.self) { try Packed.decode(Int.self, from: Packed.encode("3")) }
    }

    @Test(arguments: [UInt64(1), 2, 3, 2_026])
    func randomDocumentTreesReadBackEqual(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        for i in 0..<300 {
            let tree = SpecValueJSONTests.randomTree(&rng)
            #expect(try roundTrip(tree) == tree, "seed \(seed), tree \(i): \(tree.jsonText)")
        }
    }

    /// A tree written and read through the Encoder and Decoder protocols,
    /// one container per node: what SpecValue's Packed shortcuts stand in for.
    struct ThroughContainers: Codable {
        struct TreeKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        var tree: SpecValue

        init(_ tree: SpecValue) { self.tree = tree }

        func encode(to encoder: any Encoder) throws {
            switch tree {
            case .null: var c = encoder.singleValueContainer(); try c.encodeNil()
            case .bool(let b): var c = encoder.singleValueContainer(); try c.encode(b)
            case .int(let i): var c = encoder.singleValueContainer(); try c.encode(i)
            case .double(let d): var c = encoder.singleValueContainer(); try c.encode(d)
            case .string(let s): var c = encoder.singleValueContainer(); try c.encode(s)
            case .list(let items):
                var c = encoder.unkeyedContainer()
                for item in items { try c.encode(ThroughContainers(item)) }
            case .map(let pairs):
                var c = encoder.container(keyedBy: TreeKey.self)
                for pair in pairs { try c.encode(ThroughContainers(pair.value), forKey: TreeKey(stringValue: pair.key)) }
            }
        }

        init(from decoder: any Decoder) throws {
            if let keyed = try? decoder.container(keyedBy: TreeKey.self) {
                tree = .map(try keyed.allKeys.sorted { $0.stringValue < $1.stringValue }.map {
                    ($0.stringValue, try keyed.decode(ThroughContainers.self, forKey: $0).tree)
                })
            } else if var unkeyed = try? decoder.unkeyedContainer() {
                var items: [SpecValue] = []
                while !unkeyed.isAtEnd { items.append(try unkeyed.decode(ThroughContainers.self).tree) }
                tree = .list(items)
            } else {
                let single = try decoder.singleValueContainer()
                if single.decodeNil() { tree = .null }
                else if let b = try? single.decode(Bool.self) { tree = .bool(b) }
                else if let i = try? single.decode(Int.self) { tree = .int(i) }
                else if let d = try? single.decode(Double.self) { tree = .double(d) }
                else { tree = .string(try single.decode(String.self)) }
            }
        }
    }

    @Test(arguments: [UInt64(5), 6])
    func documentTreesAreWrittenAndReadAsThroughContainers(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        for i in 0..<300 {
            let tree = SpecValueJSONTests.randomTree(&rng)
            let direct = try Packed.encode(tree)
            #expect(direct == (try Packed.encode(ThroughContainers(tree))), "seed \(seed), tree \(i): \(tree.jsonText)")
            #expect(try Packed.decode(ThroughContainers.self, from: direct).tree == Packed.decode(SpecValue.self, from: direct),
                    "seed \(seed), tree \(i): \(tree.jsonText)")
        }
    }

    struct V1: Codable, Equatable { var a: Int; var b: String }
    struct V2: Codable, Equatable { var a: Int; var b: String; var c: [String: Int]?; var d: Bool? }

    @Test func fieldsAddedOrDroppedBetweenVersionsAreTolerated() throws {
        let newer = V2(a: 1, b: "x", c: ["z": 2], d: true)
        #expect(try Packed.decode(V1.self, from: Packed.encode(newer)) == V1(a: 1, b: "x"))
        #expect(try Packed.decode(V2.self, from: Packed.encode(V1(a: 1, b: "x"))) == V2(a: 1, b: "x", c: nil, d: nil))
        #expect(throws: DecodingError.self) { try Packed.decode(V1.self, from: Packed.encode(["a": 1])) }
    }

    struct OutOfOrder: Codable, Equatable {
        var x: Int, y: String, z: Double
        init(x: Int, y: String, z: Double) { (self.x, self.y, self.z) = (x, y, z) }
        enum CodingKeys: String, CodingKey { case x, y, z }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            z = try c.decode(Double.self, forKey: .z)
            x = try c.decode(Int.self, forKey: .x)
            y = try c.decode(String.self, forKey: .y)
        }
    }

    @Test func fieldsReadInAnotherOrderThanWrittenAreFound() throws {
        let value = OutOfOrder(x: 1, y: "two", z: 3)
        #expect(try roundTrip(value) == value)
    }

    /// Writes into a nested container after its parent moved on: refused.
    struct Interleaved: Encodable {
        enum K: String, CodingKey { case a, b }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: K.self)
            var nested = c.nestedUnkeyedContainer(forKey: .a)
            try c.encode(1, forKey: .b)
            try nested.encode(2)
        }
    }

    /// Nested containers written in order, then the parent: accepted.
    struct Nested: Codable, Equatable {
        var list: [Int]
        var inner: [String: String]
        enum K: String, CodingKey { case list, inner, after }
        init(list: [Int], inner: [String: String]) { (self.list, self.inner) = (list, inner) }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: K.self)
            var l = try c.nestedUnkeyedContainer(forKey: .list)
            list = []
            while !l.isAtEnd { list.append(try l.decode(Int.self)) }
            inner = try c.decode([String: String].self, forKey: .inner)
            #expect(try c.decode(String.self, forKey: .after) == "end")
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: K.self)
            var l = c.nestedUnkeyedContainer(forKey: .list)
            for i in list { try l.encode(i) }
            var m = c.nestedContainer(keyedBy: AnyKey.self, forKey: .inner)
            for (k, v) in inner { try m.encode(v, forKey: AnyKey(stringValue: k)) }
            try c.encode("end", forKey: .after)
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    @Test func nestedContainersMustNest() throws {
        let value = Nested(list: [1, 2, 3], inner: ["a": "b"])
        #expect(try roundTrip(value) == value)
        #expect(throws: EncodingError.self) { try Packed.encode(Interleaved()) }
    }

    @Test(arguments: [UInt64(7), 8])
    func damagedBytesAreRefusedNotCrashedOn(seed: UInt64) throws {
        let bytes = try Packed.encode(Self.allocation)
        // Every truncation is refused.
        for end in 0..<bytes.count {
            #expect(throws: (any Error).self, "truncated at \(end)") { try Packed.decode(Allocation.self, from: Array(bytes[..<end])) }
        }
        // Flipped bytes either decode to something or are refused.
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<2_000 {
            var damaged = bytes
            damaged[Int.random(in: 0..<damaged.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            _ = try? Packed.decode(Allocation.self, from: damaged)
        }
        #expect(throws: (any Error).self) { try Packed.decode(Allocation.self, from: bytes + [0]) }
    }
}
