import Foundation
import Testing
@_spi(Testing) import Model
import RaftCore
@testable import Agent

/// Raft entries are ServerCommands in the Packed form (JSON before it): what
/// one server writes, every server (and every later version) must read back
/// the same.
@Suite struct ServerCommandCodingTests {
    static let spec: JobSpec = {
        let yaml = """
            id: web
            type: service
            meta: {team: "a\\"b", z: "1"}
            groups:
              - name: g
                count: 2
                tasks:
                  - name: t
                    driver: exec
                    config: {command: /bin/echo, args: ["é", "${NOMAD_ALLOC_ID}"], port: 8080, ratio: 0.25}
            """
        return try! JobSpec.parse(yaml: yaml)
    }()

    @Test func aRegistrationReadsBackAsWritten() throws {
        let command = ServerCommand.registerJob(.init(spec: Self.spec, evaluationID: "e1", idempotencyKey: "k", at: Timestamp(seconds: 7)))
        let bytes = ServerStateMachine.encode(command)
        #expect(bytes.first != UInt8(ascii: "{"))
        #expect(try ServerStateMachine.decode(bytes) == command)
    }

    /// The hand-written forms (ServerCommand+Packed.swift) write the bytes
    /// `Codable` writes, and each reads what the other wrote.
    @Test func handWrittenFormsAreTwinsOfCodable() throws {
        let at = Timestamp(seconds: 1_700_000_000) + .nanoseconds(123)
        let evaluation = Evaluation(id: "e1", jobID: "web", priority: 70, createdAt: at)
        let allocation = Allocation(id: "a1", name: "web.g[0]", jobID: "web", group: "g", nodeID: "n1", nodeName: "node-1",
                                    resources: AllocatedResources())
        var plan = Plan(evaluationID: "e1", jobKey: Self.spec.key, jobVersion: 3, placements: [allocation])
        plan.blockedEvaluation = evaluation
        let update = ClientAllocationUpdate(allocationID: "a1", clientStatus: .running, clientDescription: "up",
                                            taskStates: ["t": TaskState()], observedAt: at)
        var withEvaluations = ServerCommand.AllocationUpdates(nodeID: "n1", updates: [update], evaluationIDs: ["e2"], at: at)
        withEvaluations.evaluations = [evaluation]
        let commands: [ServerCommand] = [
            .registerJob(.init(spec: Self.spec, evaluationID: "e1", idempotencyKey: "k", at: at)),
            .registerJob(.init(spec: Self.spec, evaluationID: "e1", at: at)),
            .stopJob(.init(key: Self.spec.key, purge: true, evaluationID: "e3", at: at)),
            .applyPlan(.init(plan: plan, evaluation: evaluation, at: at)),
            .upsertEvaluations([evaluation, evaluation], at: at),
            .upsertEvaluations([], at: at),
            .updateNode(.init(node: Node(id: "n1", status: .ready, attributes: ["kernel.name": "linux"], resources: NodeResources(cpu: 4000, memoryMB: 8192)), evaluations: [evaluation], at: at)),
            .updateAllocations(.init(nodeID: "n1", updates: [update], evaluationIDs: [], at: at)),
            .updateAllocations(withEvaluations),
            .describeMembers([MemberDescription(id: 7, name: "s1", address: "127.0.0.1:7647")]),
        ]
        for command in commands {
            let handWritten = try Packed.encode(command, usesHandWrittenForms: true)
            let codable = try Packed.encode(command, usesHandWrittenForms: false)
            #expect(handWritten == codable, "\(command)")
            #expect(try Packed.decode(ServerCommand.self, from: codable, usesHandWrittenForms: true) == command, "\(command)")
            #expect(try Packed.decode(ServerCommand.self, from: handWritten, usesHandWrittenForms: false) == command, "\(command)")
        }
        // A case this version does not know is a clear error, not a crash.
        let unknown = try Packed.encode(["retireServer": ["_0": 1]])
        #expect(throws: DecodingError.self) { try Packed.decode(ServerCommand.self, from: unknown) }
    }

    /// Entries written as JSON, before the Packed form, still read.
    @Test func aJSONEntryFromBeforeThePackedFormReads() throws {
        let command = ServerCommand.registerJob(.init(spec: Self.spec, evaluationID: "e1", idempotencyKey: "k", at: Timestamp(seconds: 7)))
        #expect(try ServerStateMachine.decode(Array(JSONEncoder().encode(command))) == command)
    }

    /// A snapshot's state reads back whole, and one written as JSON before still restores.
    @Test func snapshotsRestoreInBothForms() throws {
        let machine = ServerStateMachine()
        let register = ServerCommand.registerJob(.init(spec: Self.spec, evaluationID: "e1", at: Timestamp(seconds: 7)))
        _ = machine.apply(Entry(term: 1, index: 1, data: ServerStateMachine.encode(register)), proposed: nil)
        let packed = machine.snapshot()()
        let json = Array(try JSONEncoder().encode(machine.snapshotOfState.image))
        for data in [packed, json] {
            let restored = ServerStateMachine()
            try restored.restore(data)
            #expect(restored.snapshotOfState.job(Self.spec.key)?.spec == Self.spec)
            #expect(restored.snapshotOfState.appliedIndex == 1)
        }
    }

    /// Registrations written by earlier versions read the same: the
    /// specification as an object in JSON entries, and as JSON text
    /// (`specJSON`) in JSON and Packed entries.
    @Test func registrationsInEarlierFormsReadTheSame() throws {
        struct ObjectForm: Encodable {
            var spec: JobSpec
            var evaluationID: EvaluationID
            var idempotencyKey: String?
            var at: Timestamp
        }
        struct TextForm: Encodable {
            var specJSON: String
            var evaluationID: EvaluationID
            var idempotencyKey: String?
            var at: Timestamp
        }
        let expected = ServerCommand.registerJob(.init(spec: Self.spec, evaluationID: "e1", at: Timestamp(seconds: 7)))
        let object = ["registerJob": ["_0": ObjectForm(spec: Self.spec, evaluationID: "e1", at: Timestamp(seconds: 7))]]
        #expect(try ServerStateMachine.decode(Array(JSONEncoder().encode(object))) == expected)
        let text = ["registerJob": ["_0": TextForm(specJSON: Self.spec.specValue.jsonText, evaluationID: "e1", at: Timestamp(seconds: 7))]]
        #expect(try ServerStateMachine.decode(Array(JSONEncoder().encode(text))) == expected)
        #expect(try ServerStateMachine.decode(Packed.encode(text)) == expected)
    }
}
