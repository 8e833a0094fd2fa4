import Executor
import Foundation
import Testing
@_spi(Testing) import Model
import Storage
@testable import Agent

/// A client's local state: what it wrote reads back, and what a version
/// before the Packed form wrote as JSON still reads after an upgrade.
@Suite struct ClientStateTests {
    static let job = Job(spec: JobSpec(id: "web", groups: [GroupSpec(name: "g", tasks: [TaskSpec(name: "t", driver: "exec")])]), version: 2)
    static let allocation = Allocation(id: "a1", jobID: "web", jobVersion: 2, group: "g", nodeID: "n1",
                                        resources: AllocatedResources(cpu: 100, memoryMB: 64), createdAt: Timestamp(seconds: 5))

    @Test func allocationsAndBufferedUpdatesReadBackInOrder() throws {
        let state = ClientState(store: InMemoryKeyValueStore())
        let local = ClientState.LocalAllocation(allocation: Self.allocation, job: Self.job, checkpoint: nil, status: .running)
        let updates = (1...3).map { ClientAllocationUpdate(allocationID: "a1", clientStatus: .running, observedAt: Timestamp(seconds: $0)) }
        try state.write([local], buffering: updates.enumerated().map { (UInt64($0.offset + 1), $0.element) })
        #expect(try state.allocations().map(\.allocation) == [Self.allocation])
        #expect(try state.buffered().map(\.0) == [1, 2, 3])
        #expect(try state.buffered().map(\.1) == updates)
    }

    @Test func sequenceNumbersKeepRisingAfterEveryBufferedUpdateIsAcknowledged() throws {
        let state = ClientState(store: InMemoryKeyValueStore())
        #expect(try state.lastSequence() == 0)
        let update = ClientAllocationUpdate(allocationID: "a1", clientStatus: .running, observedAt: Timestamp(seconds: 1))
        try state.write([], buffering: [(41, update), (42, update)])
        try state.acknowledge(through: [41, 42])
        #expect(try state.buffered().isEmpty)
        #expect(try state.lastSequence() == 42, "a restarted client numbers its next report 43")
    }

    @Test func aRunStateWrittenLaterOverridesTheOneTheAllocationArrivedWith() throws {
        let state = ClientState(store: InMemoryKeyValueStore())
        let arrived = ClientState.LocalAllocation(allocation: Self.allocation, job: Self.job, checkpoint: nil, status: .pending)
        try state.write([arrived])
        try state.write([], states: ["a1": ClientState.RunState(checkpoint: nil, status: .complete)])
        let read = try state.allocations()
        #expect(read.map(\.status) == [.complete])
        #expect(read.map(\.job) == [Self.job])
        try state.forget(["a1"])
        #expect(try state.allocations().isEmpty)
        #expect(try state.store.scan(prefix: Array("alloc".utf8)).isEmpty, "both keys are gone")
    }

    /// The hand-written forms (ClientState+Packed.swift) write the bytes
    /// `Codable` writes, and each reads what the other wrote.
    @Test func runStatesHaveHandWrittenTwinsOfCodable() throws {
        let at = Timestamp(seconds: 1_700_000_000) + .nanoseconds(42)
        let spec = Executor::TaskSpec(id: "a1/t", name: "t", driver: "exec", config: ["command": .string("/bin/true")])
        let handle = TaskHandle(driver: "exec", spec: spec, directory: TaskDirectory(root: "/tmp/a1/t"), startedAt: Date(timeIntervalSince1970: 1_700_000_000),
                                state: ["pid": .number(42)])
        let event = AllocationRunStatus.TaskEvent(time: at, kind: .driverFailure, message: "no such file")
        let running = AllocationCheckpoint.TaskCheckpoint(state: TaskState(), handle: handle, failures: [at], restartAt: at, events: [event])
        let idle = AllocationCheckpoint.TaskCheckpoint(state: TaskState(), handle: nil, failures: [], restartAt: nil, events: [])
        let states = [
            ClientState.RunState(checkpoint: nil, status: .pending),
            ClientState.RunState(checkpoint: AllocationCheckpoint(allocationID: "a1", tasks: ["t": running, "u": idle]), status: .running),
            ClientState.RunState(checkpoint: AllocationCheckpoint(allocationID: "a1", tasks: [:], failure: "gone", stopped: true), status: .failed),
        ]
        for state in states {
            let handWritten = try Packed.encode(state, usesHandWrittenForms: true)
            let codable = try Packed.encode(state, usesHandWrittenForms: false)
            #expect(handWritten == codable)
            let fromHandWritten = try Packed.decode(ClientState.RunState.self, from: handWritten, usesHandWrittenForms: false)
            let fromCodable = try Packed.decode(ClientState.RunState.self, from: codable, usesHandWrittenForms: true)
            #expect(fromHandWritten.checkpoint == state.checkpoint && fromHandWritten.status == state.status)
            #expect(fromCodable.checkpoint == state.checkpoint && fromCodable.status == state.status)
        }
    }

    @Test func stateWrittenAsJSONBeforeThePackedFormStillReads() throws {
        let store = InMemoryKeyValueStore()
        let local = ClientState.LocalAllocation(allocation: Self.allocation, job: Self.job, checkpoint: nil, status: .running)
        let update = ClientAllocationUpdate(allocationID: "a1", clientStatus: .complete, observedAt: Timestamp(seconds: 9))
        var batch = KeyValueBatch()
        batch.put(ClientState.key("a1"), Array(try JSONEncoder().encode(local)))
        batch.put(ClientState.statusKey(7), Array(try JSONEncoder().encode(update)))
        try store.write(batch)
        let state = ClientState(store: store)
        #expect(try state.allocations().map(\.job) == [Self.job])
        #expect(try state.buffered().map(\.1) == [update])
        #expect(try state.buffered().map(\.0) == [7])
    }
}
