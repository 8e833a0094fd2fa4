import RaftCore
import Testing

@testable import Transport

@Suite struct OutboundQueueTests {
    static func heartbeat(_ i: UInt64) -> Message { Message(type: .heartbeat, from: 1, to: 2, term: i) }

    @Test func aFullQueueDropsInsteadOfBlocking() {
        var state = OutboundQueueState(limits: QueueLimits(maxMessages: 3, maxBytes: 1 << 20, batchMessages: 10, batchBytes: 1 << 20))
        var accepted = 0
        for i in 0..<5 {
            if case .accepted = state.push(Self.heartbeat(UInt64(i))) { accepted += 1 }
        }
        #expect(accepted == 3)
        #expect(state.takeBatch()?.map(\.term) == [0, 1, 2])
        #expect(state.takeBatch() == nil)
    }

    @Test func theByteLimitDropsLargeMessagesButAdmitsOneIntoAnEmptyQueue() {
        var state = OutboundQueueState(limits: QueueLimits(maxMessages: 100, maxBytes: 1_000, batchMessages: 10, batchBytes: 1_000))
        let big = Message(type: .append, entries: [Entry(term: 1, index: 1, data: [UInt8](repeating: 1, count: 5_000))])
        guard case .accepted = state.push(big) else { Issue.record("an empty queue must take one oversized message"); return }
        guard case .dropped = state.push(big) else { Issue.record("a second oversized message must be dropped"); return }
        #expect(state.takeBatch()?.count == 1)
    }

    @Test func batchesRespectTheirMessageAndByteLimitsAndKeepOrder() {
        var state = OutboundQueueState(limits: QueueLimits(maxMessages: 1_000, maxBytes: 1 << 30, batchMessages: 4, batchBytes: 10_000))
        for i in 0..<10 { _ = state.push(Self.heartbeat(UInt64(i))) }
        #expect(state.takeBatch()?.map(\.term) == [0, 1, 2, 3])
        #expect(state.takeBatch()?.map(\.term) == [4, 5, 6, 7])
        #expect(state.takeBatch()?.map(\.term) == [8, 9])

        let chunk = Message(type: .append, entries: [Entry(term: 1, index: 1, data: [UInt8](repeating: 0, count: 4_000))])
        for _ in 0..<3 { _ = state.push(chunk) }
        #expect(state.takeBatch()?.count == 2)
        #expect(state.takeBatch()?.count == 1)
    }

    @Test func aClosedQueueDropsAndWakesItsConsumer() async {
        let queue = OutboundQueue(limits: .priority)
        async let batch = queue.nextBatch()
        queue.close()
        #expect(await batch == nil)
        #expect(queue.push(Self.heartbeat(1)) == false)
        #expect(queue.dropped == 1)
    }

    @Test func aWaitingConsumerGetsTheNextPush() async {
        let queue = OutboundQueue(limits: .priority)
        async let batch = queue.nextBatch()
        queue.push(Self.heartbeat(7))
        #expect(await batch?.map(\.term) == [7])
    }

    @Test func heartbeatsAndVotesTakeThePriorityLane() {
        for type in MessageType.allCases {
            let lane = Lane.of(Message(type: type))
            #expect(lane == ((type == .append || type == .snapshot) ? .bulk : .priority), "\(type)")
        }
    }
}

@Suite struct BackoffTests {
    @Test func delaysGrowExponentiallyUpToTheMaximumWithinTheJitter() {
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(2), multiplier: 2, jitter: 0.25)
        var generator = SplitMix(seed: 42)
        let expected: [Double] = [0.1, 0.2, 0.4, 0.8, 1.6, 2, 2, 2]
        for base in expected {
            let delay = backoff.next(using: &generator)
            let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
            #expect(seconds >= base * 0.75 - 1e-9 && seconds <= base * 1.25 + 1e-9, "\(seconds) vs \(base)")
        }
        backoff.reset()
        let again = backoff.next(using: &generator)
        #expect(again <= .milliseconds(125))
    }

    @Test func jitterSpreadsDelays() {
        var generator = SplitMix(seed: 7)
        var delays = Set<Duration>()
        for _ in 0..<20 {
            var backoff = Backoff(initial: .seconds(1), maximum: .seconds(1), jitter: 0.5)
            delays.insert(backoff.next(using: &generator))
        }
        #expect(delays.count > 10)
    }
}

/// A small seeded generator, so backoff tests replay.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
