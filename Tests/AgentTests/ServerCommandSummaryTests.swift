import Model
import RaftCore
import Testing
@testable import Agent

/// The one-line summaries `caravan operator raft log` shows for log entries.
@Suite struct ServerCommandSummaryTests {
    @Test func aRegistrationNamesItsJobAndEvaluation() throws {
        let spec = try JobSpec.parse(json: """
            {"id": "hello", "type": "batch", "groups": [{"name": "g", "count": 1,
              "tasks": [{"name": "t", "driver": "exec", "config": {"command": "/bin/true"}}]}]}
            """)
        let command = ServerCommand.registerJob(.init(spec: spec, evaluationID: "1a2b3c4d-5e6f", at: Timestamp(seconds: 1)))
        let entry = Entry(term: 2, index: 7, data: ServerStateMachine.encode(command))
        #expect(ServerCommand.summary(of: entry) == "register job default/hello (eval 1a2b3c4d…)")

        let forwarded = Entry(term: 2, index: 8, kind: .tagged, data: WriteTag(origin: 3, sequence: 99).bytes + ServerStateMachine.encode(command))
        #expect(ServerCommand.summary(of: forwarded) == "register job default/hello (eval 1a2b3c4d…) (forwarded by server 3)")
        #expect(ServerCommand.summary(of: Entry(term: 2, index: 9, kind: .tagged, data: [1, 2])).hasPrefix("undecodable: "))
    }

    @Test func membershipChangesSayWhoAndHow() {
        let member = MemberDescription(id: 4, name: "s4", address: "127.0.0.1:7650")
        let added = Entry(term: 1, index: 3, kind: .confChange, data: ConfChange(.addVoter, 4, context: ServerStateMachine.context(for: member)).encoded())
        #expect(ServerCommand.summary(of: added) == "add voter 4 (s4 127.0.0.1:7650)")
        let demoted = Entry(term: 1, index: 4, kind: .confChange, data: ConfChange(.addLearner, 2).encoded())
        #expect(ServerCommand.summary(of: demoted) == "make 2 a learner")
        let removed = Entry(term: 1, index: 5, kind: .confChange, data: ConfChange(.removeNode, 3).encoded())
        #expect(ServerCommand.summary(of: removed) == "remove 3")
    }

    @Test func anUndecodableEntrySaysSoInsteadOfFailing() {
        let garbage = Entry(term: 1, index: 9, data: Array("{\"no such command\": 1}\n".utf8))
        let summary = ServerCommand.summary(of: garbage)
        #expect(summary.hasPrefix("undecodable: "), "\(summary)")
        #expect(!summary.contains("\n"))
        let shortConfChange = Entry(term: 1, index: 10, kind: .confChange, data: [9])
        #expect(ServerCommand.summary(of: shortConfChange).hasPrefix("undecodable: "))
        #expect(ServerCommand.summary(of: Entry(term: 3, index: 11)) == "no-op (a new leader's first entry)")
    }
}
