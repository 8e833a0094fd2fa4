import Testing
@_spi(Testing) @testable import Model

/// The hand-written Packed forms (``PackedCodable``) against the `Codable`
/// forms they stand in for: the same bytes, each reads the other's, fields
/// are found in any order, unknown fields are skipped, and missing or
/// mistyped fields are refused with an error naming where.
@Suite struct PackedCodableTests {
    /// Bytes written with the hand-written forms and through `Codable` alone.
    func bothForms<T: Codable>(_ value: T) throws -> (handWritten: [UInt8], codable: [UInt8]) {
        (try Packed.encode(value, usesHandWrittenForms: true), try Packed.encode(value, usesHandWrittenForms: false))
    }

    func expectTwins<T: Codable & Equatable>(_ value: T, _ comment: Comment) throws {
        let (handWritten, codable) = try bothForms(value)
        #expect(handWritten == codable, comment)
        #expect(try Packed.decode(T.self, from: codable, usesHandWrittenForms: true) == value, comment)
        #expect(try Packed.decode(T.self, from: handWritten, usesHandWrittenForms: false) == value, comment)
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func handWrittenFormsWriteAndReadWhatCodableDoes(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        for i in 0..<200 {
            let allocation = Self.randomAllocation(&rng)
            try expectTwins(allocation, "seed \(seed), allocation \(i): \(allocation)")
            let evaluation = Self.randomEvaluation(&rng)
            try expectTwins(evaluation, "seed \(seed), evaluation \(i): \(evaluation)")
            let update = ClientAllocationUpdate(allocationID: allocation.id, clientStatus: allocation.clientStatus,
                                                clientDescription: allocation.clientDescription,
                                                taskStates: allocation.taskStates, observedAt: allocation.modifiedAt,
                                                sequence: allocation.clientSequence)
            try expectTwins(update, "seed \(seed), update \(i): \(update)")
            let plan = Self.randomPlan(&rng, allocation, evaluation)
            try expectTwins(plan, "seed \(seed), plan \(i): \(plan)")
            // Inside values coded through Codable: a list, an optional.
            try expectTwins([allocation.createdAt, allocation.modifiedAt], "seed \(seed), timestamps \(i)")
            try expectTwins([plan.blockedEvaluation], "seed \(seed), evaluations \(i)")
        }
    }

    @Test func durationsKeepEveryBit() throws {
        for duration: Duration in [.zero, .seconds(-1), .nanoseconds(-7), .seconds(Int64.max), .seconds(Int64.min),
                                   .seconds(1_700_000_000) + .nanoseconds(123_456_789), Duration(attoseconds: -1)] {
            try expectTwins(duration, "\(duration)")
        }
    }

    @Test func fieldsAreFoundInAnyOrderAndUnknownOnesSkipped() throws {
        var rng = SeededGenerator(seed: 9)
        let allocation = Self.randomAllocation(&rng)
        let written = try Packed.encode(allocation)
        let reordered = try Self.rewritingMap(written) { entries in
            entries.reversed() + [Self.entry("addedLater", try Packed.encode(["x": [1, 2]]))]
        }
        #expect(try Packed.decode(Allocation.self, from: reordered) == allocation)
    }

    @Test func aMissingRequiredFieldIsRefusedByName() throws {
        let written = try Packed.encode(PackedCodingTests.allocation)
        let withoutNode = try Self.rewritingMap(written) { entries in entries.filter { $0.key != "nodeID" } }
        #expect {
            try Packed.decode(Allocation.self, from: withoutNode)
        } throws: { error in
            guard case let DecodingError.keyNotFound(key, _) = error else { return false }
            return key.stringValue == "nodeID"
        }
        // An optional field may be missing.
        let withoutPrevious = try Self.rewritingMap(written) { entries in entries.filter { $0.key != "previousAllocation" } }
        #expect(try Packed.decode(Allocation.self, from: withoutPrevious).previousAllocation == nil)
    }

    @Test func aMistypedFieldIsRefusedWithItsPath() throws {
        let plan = Plan(evaluationID: "e1", jobKey: JobKey(id: "web"), placements: [PackedCodingTests.allocation])
        let written = try Packed.encode(plan)
        // The first placement's resources.cpu, as a string.
        let damaged = try Self.rewritingMap(written) { planEntries in
            try planEntries.map { entry in
                guard entry.key == "placements" else { return entry }
                let list = try Self.listItems(entry.value)
                let allocation = try Self.rewritingMap(list[0]) { fields in
                    try fields.map { field in
                        guard field.key == "resources" else { return field }
                        return Self.entry("resources", try Self.rewritingMap(field.value) { resources in
                            try resources.map { $0.key == "cpu" ? Self.entry("cpu", try Packed.encode("lots")) : $0 }
                        })
                    }
                }
                return Self.entry("placements", Self.list([allocation] + list.dropFirst()))
            }
        }
        #expect {
            try Packed.decode(Plan.self, from: damaged)
        } throws: { error in
            guard case let DecodingError.typeMismatch(_, context) = error else { return false }
            return context.codingPath.map(\.stringValue) == ["placements", "Index 0", "resources", "cpu"]
        }
    }

    // MARK: Values

    static func randomAllocation(_ rng: inout SeededGenerator) -> Allocation {
        func maybe<T>(_ value: @autoclosure () -> T) -> T? { Bool.random(using: &rng) ? value() : nil }
        func time() -> Timestamp {
            Timestamp(sinceEpoch: .seconds(Int64.random(in: -1_000...2_000_000_000, using: &rng))
                + .nanoseconds(Int64.random(in: 0..<1_000_000_000, using: &rng)))
        }
        func text() -> String { ["", "web", "日本🚀", "a\u{0}b", String(repeating: "x", count: 300)].randomElement(using: &rng)! }
        var tasks: [String: TaskState] = [:]
        for name in ["main", "sidecar", "日本"].prefix(Int.random(in: 0...3, using: &rng)) {
            tasks[name] = TaskState(state: [.pending, .running, .dead].randomElement(using: &rng)!, failed: .random(using: &rng),
                                    restarts: .random(in: 0...5, using: &rng), startedAt: maybe(time()), finishedAt: maybe(time()),
                                    lastRestart: maybe(time()), exitCode: maybe(Int32.random(in: -200...255, using: &rng)))
        }
        let devices = (0..<Int.random(in: 0...2, using: &rng)).map { i in
            AllocatedDevice(group: "nvidia/gpu/\(i)", instanceIDs: (0..<i + 1).map { "GPU-\($0)" })
        }
        return Allocation(
            id: AllocationID(text() + "-id"), name: maybe(text()), index: .random(in: 0...1_000, using: &rng),
            namespace: text(), jobID: text(), jobVersion: .random(in: 0...9, using: &rng),
            jobType: JobType.allCases.randomElement(using: &rng)!, jobPriority: .random(in: 1...100, using: &rng),
            group: text(), groupFingerprint: .random(in: 0...UInt64.max, using: &rng), nodeID: NodeID(text()),
            nodeName: maybe(text()),
            resources: AllocatedResources(cpu: .random(in: 0...8_000, using: &rng), cores: .random(in: 0...4, using: &rng),
                                          memoryMB: .random(in: 0...4_096, using: &rng), memoryMaxMB: maybe(.random(in: 0...8_192, using: &rng)),
                                          diskMB: .random(in: 0...100, using: &rng), devices: devices),
            desiredStatus: DesiredStatus.allCases.randomElement(using: &rng)!, desiredDescription: text(),
            clientStatus: ClientStatus.allCases.randomElement(using: &rng)!, clientDescription: text(), taskStates: tasks,
            rescheduleTracker: (0..<Int.random(in: 0...2, using: &rng)).map { _ in
                RescheduleEvent(time: time(), previousAllocation: "p", previousNode: "n", delay: .milliseconds(.random(in: -5...90_000, using: &rng)))
            },
            previousAllocation: maybe("prev"), nextAllocation: maybe("next"), deploymentID: maybe("d1"),
            deploymentStatus: maybe(AllocationDeploymentStatus(healthy: maybe(.random(using: &rng)), canary: .random(using: &rng),
                                                               timestamp: maybe(time()))),
            preemptedBy: maybe("p2"), createdAt: time(), modifiedAt: maybe(time()), disconnectedAt: maybe(time()),
            clientSequence: maybe(.random(in: 0...UInt64.max, using: &rng)))
    }

    static func randomPlan(_ rng: inout SeededGenerator, _ allocation: Allocation, _ evaluation: Evaluation) -> Plan {
        func maybe<T>(_ value: @autoclosure () -> T) -> T? { Bool.random(using: &rng) ? value() : nil }
        func some<T>(_ value: @autoclosure () -> T) -> [T] { (0..<Int.random(in: 0...2, using: &rng)).map { _ in value() } }
        var changes = DesiredChanges()
        changes.place = .random(in: 0...9, using: &rng)
        changes.reschedule = .random(in: 0...9, using: &rng)
        return Plan(
            evaluationID: evaluation.id, jobKey: JobKey(namespace: allocation.namespace, id: allocation.jobID),
            jobVersion: maybe(.random(in: 0...9, using: &rng)), placements: some(allocation), updates: some(allocation),
            stops: some(AllocationStop(allocationID: allocation.id, nodeID: "n1", reason: "node down",
                                       clientStatus: maybe(.lost), replacement: maybe("a9"))),
            preemptions: some(Preemption(allocationID: "a3", nodeID: "n2", jobKey: JobKey(id: "low"), jobPriority: 10, preemptedBy: allocation.id)),
            failedPlacements: some(FailedPlacement(group: "g", count: 2, explanation: PlacementExplanation(
                nodesEvaluated: 5, filtered: ["constraint": 3], exhausted: ["memory": 2]))),
            deployment: maybe(Deployment(id: "d1", jobID: allocation.jobID, jobVersion: 2, createdAt: allocation.createdAt)),
            revertToJobVersion: maybe(1), followUpEvaluations: some(evaluation), blockedEvaluation: maybe(evaluation),
            desiredChanges: Bool.random(using: &rng) ? ["g": changes, "日本": DesiredChanges()] : [:])
    }

    static func randomEvaluation(_ rng: inout SeededGenerator) -> Evaluation {
        func maybe<T>(_ value: @autoclosure () -> T) -> T? { Bool.random(using: &rng) ? value() : nil }
        return Evaluation(
            id: EvaluationID("e-\(rng.next() % 1_000)"), namespace: maybe("ops") ?? "default", jobID: "job", jobType: JobType.allCases.randomElement(using: &rng)!,
            priority: .random(in: 1...100, using: &rng), trigger: EvaluationTrigger.allCases.randomElement(using: &rng)!,
            status: EvaluationStatus.allCases.randomElement(using: &rng)!, statusDescription: maybe("why") ?? "",
            nodeID: maybe("n1"), deploymentID: maybe("d1"), waitUntil: maybe(Timestamp(seconds: .random(in: -9...9, using: &rng))),
            previousEvaluation: maybe("e0"), createdAt: Timestamp(seconds: .random(in: 0...2_000_000_000, using: &rng)))
    }

    // MARK: Rewriting Packed bytes

    struct Entry {
        var key: String
        var value: [UInt8]
    }

    static func entry(_ key: String, _ value: [UInt8]) -> Entry { Entry(key: key, value: value) }

    /// The map in `bytes`, its entries changed by `change`.
    static func rewritingMap(_ bytes: [UInt8], _ change: ([Entry]) throws -> [Entry]) throws -> [UInt8] {
        let reader = PackedReader(bytes)
        let (body, _) = try reader.container(.map, at: 0, [], as: Any.self)
        var entries: [Entry] = []
        var next = body.lowerBound
        while next < body.upperBound {
            let name = try reader.text(at: next, [])
            let end = try reader.skip(from: name.upperBound, codingPath: [])
            entries.append(Entry(key: String(decoding: bytes[name], as: UTF8.self), value: Array(bytes[name.upperBound..<end])))
            next = end
        }
        let changed = try change(entries)
        var out: [UInt8] = []
        for entry in changed {
            let key = try Packed.encode(entry.key) // tag, varint length, UTF-8
            out += key.dropFirst() + entry.value
        }
        return container(tag: PackedTag.map.rawValue, count: changed.count, body: out)
    }

    static func listItems(_ bytes: [UInt8]) throws -> [[UInt8]] {
        let reader = PackedReader(bytes)
        let (body, _) = try reader.container(.list, at: 0, [], as: Any.self)
        var items: [[UInt8]] = []
        var next = body.lowerBound
        while next < body.upperBound {
            let end = try reader.skip(from: next, codingPath: [])
            items.append(Array(bytes[next..<end]))
            next = end
        }
        return items
    }

    static func list(_ items: [[UInt8]]) -> [UInt8] {
        container(tag: PackedTag.list.rawValue, count: items.count, body: items.flatMap { $0 })
    }

    static func container(tag: UInt8, count: Int, body: [UInt8]) -> [UInt8] {
        func u32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        return [tag] + u32(body.count) + u32(count) + body
    }
}
