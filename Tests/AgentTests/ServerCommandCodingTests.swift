import Foundation
import Testing
import Model
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
