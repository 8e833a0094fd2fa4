import Foundation
import Testing
import Model
@testable import Agent

/// Raft entries are ServerCommands as JSON: what one server writes, every
/// server (and every later version) must read back the same.
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
        let decoded = try JSONDecoder().decode(ServerCommand.self, from: Data(ServerStateMachine.encode(command)))
        #expect(decoded == command)
    }

    /// Entries written before the specification travelled as JSON text carry it as an object.
    @Test func aRegistrationInTheEarlierFormReadsTheSame() throws {
        struct EarlierRegisterJob: Encodable {
            var spec: JobSpec
            var evaluationID: EvaluationID
            var idempotencyKey: String?
            var at: Timestamp
        }
        let earlier = ["registerJob": ["_0": EarlierRegisterJob(spec: Self.spec, evaluationID: "e1", idempotencyKey: nil, at: Timestamp(seconds: 7))]]
        let decoded = try JSONDecoder().decode(ServerCommand.self, from: JSONEncoder().encode(earlier))
        #expect(decoded == .registerJob(.init(spec: Self.spec, evaluationID: "e1", at: Timestamp(seconds: 7))))
    }
}
