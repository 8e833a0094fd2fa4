import Synchronization
import Testing
import RaftCore
import Storage
@testable import Agent

/// A counter replicated by Raft: each command adds its first byte.
final class Counter: ReplicatedStateMachine, @unchecked Sendable {
    var total: UInt64 = 0

    func apply(_ entry: Entry, proposed: [UInt8]?) -> UInt64 {
        total += UInt64((proposed ?? entry.data)[0])
        return total
    }

    func snapshot() -> @Sendable () -> [UInt8] {
        let total = total
        return { withUnsafeBytes(of: total.littleEndian) { Array($0) } }
    }

    func restore(_ data: [UInt8]) throws {
        total = data.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
    }
}

/// Drivers in one process, wired by an in-memory network that can cut a node off.
final class LocalNetwork: Sendable {
    let drivers = Mutex<[NodeID: RaftDriver<Counter>]>([:])
    let cut = Mutex<Set<NodeID>>([])
    /// Message types lost on the way, whoever sends them.
    let lost = Mutex<Set<MessageType>>([])

    struct Sender: RaftMessageSender {
        let network: LocalNetwork
        func send(_ messages: [Message]) { network.deliver(messages) }
    }

    func deliver(_ messages: [Message]) {
        let isolated = cut.withLock { $0 }
        let lostTypes = lost.withLock { $0 }
        var byTarget: [NodeID: [Message]] = [:]
        for m in messages where !isolated.contains(m.from) && !isolated.contains(m.to) && !lostTypes.contains(m.type) {
            byTarget[m.to, default: []].append(m)
        }
        let targets = drivers.withLock { $0 }
        for (to, batch) in byTarget {
            guard let driver = targets[to] else { continue }
            Task { await driver.receive(batch) }
        }
    }
}

@Suite struct RaftDriverTests {
    /// Starts three drivers ticking every 5 ms; returns them with their tick tasks.
    static func cluster(
        snapshotEvery: UInt64 = 10_000, snapshotBytes: Int = 64 << 20, forwardTimeoutTicks: UInt64 = 200
    ) throws -> (LocalNetwork, [NodeID: RaftDriver<Counter>], [Task<Void, Never>]) {
        let network = LocalNetwork()
        var drivers: [NodeID: RaftDriver<Counter>] = [:]
        for id: NodeID in [1, 2, 3] {
            var config = RaftConfig(id: id, seed: 99)
            config.electionTick = 10
            let persistence = InMemoryRaftStorage()
            try persistence.bootstrapIfPristine(voters: [1, 2, 3])
            drivers[id] = try RaftDriver(
                config: config, persistence: persistence,
                sender: LocalNetwork.Sender(network: network), stateMachine: Counter(), snapshotEvery: snapshotEvery,
                snapshotBytes: snapshotBytes, forwardTimeoutTicks: forwardTimeoutTicks
            )
        }
        network.drivers.withLock { $0 = drivers }
        let ticks = drivers.values.map { driver in
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(5))
                    await driver.tick()
                }
            }
        }
        return (network, drivers, ticks)
    }

    static func awaitLeader(_ drivers: [NodeID: RaftDriver<Counter>], excluding: Set<NodeID> = []) async -> NodeID {
        while true {
            for (id, driver) in drivers where !excluding.contains(id) {
                if await driver.status.role == .leader { return id }
            }
            await Task.yield()
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test func writesThroughTheLeaderReturnTheirOutput() async throws {
        let (_, drivers, ticks) = try Self.cluster()
        defer { ticks.forEach { $0.cancel() } }
        let leader = await Self.awaitLeader(drivers)
        var last: UInt64?
        for _ in 0..<20 { last = try await drivers[leader]!.propose([5]) }
        #expect(last == 100)
    }

    /// The replica that proposes a write, or forwards it, applies the command
    /// it handed over instead of decoding the entry; the others decode. (The
    /// commands handed over here differ from their bytes only to tell which
    /// one was applied.)
    @Test func theProposerAppliesTheCommandItHandedOver() async throws {
        let (_, drivers, ticks) = try Self.cluster()
        defer { ticks.forEach { $0.cancel() } }
        let leader = await Self.awaitLeader(drivers)
        #expect(try await drivers[leader]!.propose([1], decoded: [10]) == 10)
        let follower = try await Self.follower(of: leader, in: drivers)
        #expect(try await drivers[follower]!.submit([1], decoded: [20]) == 21, "1 decoded, then 20 handed over")
        #expect(try await drivers[leader]!.propose([0]) == 11, "10 handed over, then 1 decoded")
    }

    @Test func aFollowerRefusesWritesNamingTheLeader() async throws {
        let (_, drivers, ticks) = try Self.cluster()
        defer { ticks.forEach { $0.cancel() } }
        let leader = await Self.awaitLeader(drivers)
        _ = try await drivers[leader]!.propose([1])  // every replica now knows the leader
        let follower = try await Self.follower(of: leader, in: drivers)
        await #expect(throws: RaftDriverError.notLeader(leader: leader)) {
            try await drivers[follower]!.propose([1])
        }
    }

    /// The followers, once each knows `leader`.
    static func followers(of leader: NodeID, in drivers: [NodeID: RaftDriver<Counter>]) async throws -> [NodeID] {
        let followers = drivers.keys.sorted().filter { $0 != leader }
        for id in followers {
            while await drivers[id]!.status.leader != leader { try await Task.sleep(for: .milliseconds(5)) }
        }
        return followers
    }

    /// A follower, once it knows `leader`.
    static func follower(of leader: NodeID, in drivers: [NodeID: RaftDriver<Counter>]) async throws -> NodeID {
        try await followers(of: leader, in: drivers)[0]
    }

    @Test func aFollowerForwardsAWriteToTheLeaderAndAnswersWithItsOutput() async throws {
        let (_, drivers, ticks) = try Self.cluster()
        defer { ticks.forEach { $0.cancel() } }
        let leader = await Self.awaitLeader(drivers)
        _ = try await drivers[leader]!.propose([1])
        let follower = try await Self.follower(of: leader, in: drivers)
        #expect(try await drivers[follower]!.submit([4]) == 5)
        #expect(try await drivers[leader]!.submit([2]) == 7, "the leader proposes its own")
        try await drivers[leader]!.linearizableBarrier()
        let last = try await drivers[leader]!.storedLog(from: 0, limit: 2).entries
        #expect(last.map(\.kind) == [.tagged, .normal])
    }

    @Test func concurrentForwardedWritesEachGetTheirOwnOutput() async throws {
        let (_, drivers, ticks) = try Self.cluster()
        defer { ticks.forEach { $0.cancel() } }
        let leader = await Self.awaitLeader(drivers)
        _ = try await drivers[leader]!.propose([1])
        let followers = try await Self.followers(of: leader, in: drivers).map { drivers[$0]! }
        let outputs = try await withThrowingTaskGroup(of: UInt64?.self) { group in
            for i in 0..<200 { group.addTask { [followers] in try await followers[i % 2].submit([1]) } }
            var all: [UInt64] = []
            for try await output in group { all.append(output!) }
            return all
        }
        // Each write added 1 to a counter at 1: every total from 2 to 201, once each.
        #expect(outputs.sorted() == Array(2...201))
    }

    @Test func aForwardedWriteLostWithItsLeaderFailsAsDroppedOnceANewLeaderCommits() async throws {
        let (network, drivers, ticks) = try Self.cluster()
        defer { ticks.forEach { $0.cancel() } }
        let first = await Self.awaitLeader(drivers)
        _ = try await drivers[first]!.propose([1])
        let follower = try await Self.follower(of: first, in: drivers)
        // The write is forwarded (and lost on the way) before the leader is cut off.
        network.lost.withLock { $0 = [.propose] }
        let write = Task { try await drivers[follower]!.submit([1]) }
        while await !drivers[follower]!.hasWaiters { try await Task.sleep(for: .milliseconds(1)) }
        network.cut.withLock { $0 = [first] }
        await #expect(throws: RaftDriverError.dropped) { try await write.value }
        #expect(await Self.awaitLeader(drivers, excluding: [first]) != first)
    }

    @Test func aForwardedWriteNobodyAnswersTimesOutAsUnknown() async throws {
        let (network, drivers, ticks) = try Self.cluster(forwardTimeoutTicks: 20)
        defer { ticks.forEach { $0.cancel() } }
        let leader = await Self.awaitLeader(drivers)
        _ = try await drivers[leader]!.propose([1])
        let follower = try await Self.follower(of: leader, in: drivers)
        network.lost.withLock { $0 = [.propose] }
        do {
            _ = try await drivers[follower]!.submit([1])
            Issue.record("a write that never reached the leader succeeded")
        } catch RaftDriverError.outcomeUnknown {
        }
        #expect(try await drivers[leader]!.propose([1]) == 2, "the lost write was never applied")
    }

    @Test func concurrentProposalsShareAppends() async throws {
        let (_, drivers, ticks) = try Self.cluster()
        defer { ticks.forEach { $0.cancel() } }
        let leader = await Self.awaitLeader(drivers)
        let driver = drivers[leader]!
        let before = await driver.status.lastIndex
        try await withThrowingTaskGroup(of: UInt64?.self) { group in
            for _ in 0..<200 { group.addTask { try await driver.propose([1]) } }
            for try await _ in group {}
        }
        #expect(await driver.status.lastIndex == before + 200)
    }

    @Test func aFollowerReadSeesEveryAcknowledgedWrite() async throws {
        let (_, drivers, ticks) = try Self.cluster()
        defer { ticks.forEach { $0.cancel() } }
        let leader = await Self.awaitLeader(drivers)
        for _ in 0..<10 { _ = try await drivers[leader]!.propose([3]) }
        let acknowledgedThrough = await drivers[leader]!.status.appliedIndex
        let follower = drivers.keys.first { $0 != leader }!
        try await drivers[follower]!.linearizableBarrier()
        #expect(await drivers[follower]!.status.appliedIndex >= acknowledgedThrough)
    }

    @Test func aNewLeaderTakesOverWhenTheLeaderIsCutOff() async throws {
        let (network, drivers, ticks) = try Self.cluster()
        defer { ticks.forEach { $0.cancel() } }
        let first = await Self.awaitLeader(drivers)
        _ = try await drivers[first]!.propose([7])
        network.cut.withLock { $0 = [first] }
        let second = await Self.awaitLeader(drivers, excluding: [first])
        #expect(second != first)
        let total = try await drivers[second]!.propose([1])
        #expect(total == 8, "the acknowledged write survived the change of leader")
    }

    @Test func snapshotsCompactTheLogAndKeepTheState() async throws {
        let (_, drivers, ticks) = try Self.cluster(snapshotEvery: 16)
        defer { ticks.forEach { $0.cancel() } }
        let leader = await Self.awaitLeader(drivers)
        var last: UInt64?
        for _ in 0..<50 { last = try await drivers[leader]!.propose([2]) }
        #expect(last == 100)
        // Snapshots are encoded off the loop: the one due at 48 lands shortly after.
        #expect(await Self.snapshotIndex(of: drivers[leader]!, reaches: 48))
    }

    @Test func aSnapshotIsAlsoTakenAfterEnoughBytesOfEntries() async throws {
        let (_, drivers, ticks) = try Self.cluster(snapshotEvery: 1_000_000, snapshotBytes: 64)
        defer { ticks.forEach { $0.cancel() } }
        let leader = await Self.awaitLeader(drivers)
        // 8-byte entries: 64 bytes after the 8th; the counter's snapshot is 8 bytes.
        for _ in 0..<20 { _ = try await drivers[leader]!.propose([1, 0, 0, 0, 0, 0, 0, 0]) }
        #expect(await Self.snapshotIndex(of: drivers[leader]!, reaches: 8))
    }

    /// Waits (up to 10 s) for the driver's snapshot index to reach `index`.
    static func snapshotIndex(of driver: RaftDriver<Counter>, reaches index: UInt64) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if await driver.status.snapshotIndex >= index { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return false
    }
}

struct SyncedWriteTimesTests {
    @Test func syncsStayOffTheLoopUntilRecentOnesWereFastAndLeaveItAfterASlowOne() {
        var times = SyncedWriteTimes()
        #expect(!times.areFast)
        var fastWrites = 0
        while !times.areFast {
            times.record(.microseconds(10))
            fastWrites += 1
            #expect(fastWrites < 100)
        }
        // A run of fast writes, not a single one, brings them onto the loop.
        #expect(fastWrites > 8)
        times.record(.milliseconds(2))
        #expect(!times.areFast)
        var slowFor = 0
        while !times.areFast {
            times.record(.microseconds(10))
            slowFor += 1
        }
        // One slow sync keeps the next several on the storage thread.
        #expect(slowFor >= 4)
    }
}
