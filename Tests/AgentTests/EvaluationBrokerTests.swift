import Testing
import Model
@testable import Agent

private let t0 = Timestamp(seconds: 1_700_000_000)

private func evaluation(_ id: String, job: String? = nil, priority: Int = 50, createdAt: Int64 = 0,
                        waitUntil: Timestamp? = nil) -> Evaluation {
    Evaluation(id: EvaluationID(id), jobID: job ?? "job-\(id)", priority: priority, waitUntil: waitUntil,
               createdAt: t0 + .seconds(createdAt))
}

/// Dequeues until empty, returning ids in order (without acking).
private func drain(_ broker: inout EvaluationBroker, now: Timestamp = t0) -> [String] {
    var ids: [String] = []
    while let next = broker.dequeue(now: now) { ids.append(next.0.id.rawValue) }
    return ids
}

/// Dequeues one evaluation, failing the test when none is ready.
private func take(_ broker: inout EvaluationBroker, now: Timestamp = t0,
                  sourceLocation: SourceLocation = #_sourceLocation) throws -> (Evaluation, token: UInt64) {
    let next = broker.dequeue(now: now)
    return try #require(next, sourceLocation: sourceLocation)
}

@Suite struct EvaluationBrokerTests {
    struct OrderCase: Sendable, CustomTestStringConvertible {
        var name: String
        /// (id, priority, createdAt seconds), in enqueue order; each of its own job.
        var enqueued: [(String, Int, Int64)]
        var expected: [String]
        var testDescription: String { name }
    }

    @Test(arguments: [
        OrderCase(name: "higher priority first", enqueued: [("low", 10, 0), ("high", 90, 5), ("mid", 50, 1)],
                  expected: ["high", "mid", "low"]),
        OrderCase(name: "same priority: older first", enqueued: [("c", 50, 3), ("a", 50, 1), ("b", 50, 2)],
                  expected: ["a", "b", "c"]),
        OrderCase(name: "priority beats age", enqueued: [("old-low", 10, 0), ("new-high", 80, 100)],
                  expected: ["new-high", "old-low"]),
        OrderCase(name: "full tie: enqueue order", enqueued: [("x", 50, 0), ("y", 50, 0), ("z", 50, 0)],
                  expected: ["x", "y", "z"]),
        OrderCase(name: "mixed", enqueued: [("p50t2", 50, 2), ("p70t9", 70, 9), ("p50t1", 50, 1), ("p70t3", 70, 3)],
                  expected: ["p70t3", "p70t9", "p50t1", "p50t2"]),
    ])
    func dequeuesInPriorityThenAgeOrder(_ c: OrderCase) {
        var broker = EvaluationBroker()
        for (id, priority, created) in c.enqueued {
            broker.enqueue(evaluation(id, priority: priority, createdAt: created), now: t0)
        }
        #expect(broker.count == c.enqueued.count)
        #expect(drain(&broker) == c.expected)
    }

    @Test func laterEvaluationOfOutstandingJobWaitsUntilAck() throws {
        var broker = EvaluationBroker()
        broker.enqueue(evaluation("a1", job: "a", priority: 90, createdAt: 1), now: t0)
        let (first, token) = try take(&broker)
        #expect(first.id == "a1")
        broker.enqueue(evaluation("a2", job: "a", priority: 90, createdAt: 2), now: t0)
        broker.enqueue(evaluation("b1", job: "b", priority: 10, createdAt: 3), now: t0)
        // a2 outranks b1 but its job is out with a worker.
        #expect(drain(&broker) == ["b1"])
        broker.ack("a1", token: token)
        #expect(drain(&broker) == ["a2"])
    }

    @Test func laterEvaluationWaitsBehindReadyOneOfSameJob() throws {
        var broker = EvaluationBroker()
        broker.enqueue(evaluation("a1", job: "a", createdAt: 1), now: t0)
        broker.enqueue(evaluation("a2", job: "a", createdAt: 2), now: t0)
        let (first, token) = try take(&broker)
        #expect(first.id == "a1")
        #expect(broker.dequeue(now: t0) == nil)
        broker.ack(first.id, token: token)
        #expect(drain(&broker) == ["a2"])
        #expect(broker.takeSuperseded().isEmpty)
    }

    @Test(arguments: [
        [2, 3] as [Int64], [3, 2], [2, 3, 4], [4, 2, 3], [5, 1, 9, 7],
    ])
    func onlyNewestWaitingEvaluationIsKept(_ createdAts: [Int64]) throws {
        var broker = EvaluationBroker()
        broker.enqueue(evaluation("out", job: "a", createdAt: 0), now: t0)
        let (_, token) = try take(&broker)
        for t in createdAts { broker.enqueue(evaluation("w\(t)", job: "a", createdAt: t), now: t0) }

        let newest = "w\(createdAts.max()!)"
        let superseded = broker.takeSuperseded().map(\.id.rawValue)
        #expect(Set(superseded) == Set(createdAts.map { "w\($0)" }).subtracting([newest]))
        #expect(superseded.count == createdAts.count - 1)
        #expect(broker.takeSuperseded().isEmpty, "takeSuperseded hands each over once")
        #expect(broker.count == 2)

        broker.ack("out", token: token)
        #expect(drain(&broker) == [newest])
    }

    @Test func ackNeedsTheCurrentToken() throws {
        var broker = EvaluationBroker(deliveryTimeout: .seconds(30))
        broker.enqueue(evaluation("e"), now: t0)
        let (_, stale) = try take(&broker)
        broker.ack("e", token: stale + 1)
        #expect(broker.count == 1, "a wrong token is ignored")
        #expect(broker.dequeue(now: t0) == nil, "still outstanding")

        #expect(broker.expire(now: t0 + .seconds(30)).isEmpty)
        let (again, token) = try take(&broker, now: t0 + .seconds(30))
        #expect(again.id == "e")
        #expect(token != stale)
        broker.ack("e", token: stale)
        #expect(broker.count == 1, "the token of an earlier delivery is stale")
        broker.ack("e", token: token)
        #expect(broker.count == 0)
        #expect(broker.dequeue(now: t0 + .seconds(60)) == nil)
    }

    @Test(arguments: [1, 2, 3, 5])
    func nackRedeliversUntilDeliveryLimit(_ limit: Int) throws {
        var broker = EvaluationBroker(deliveryLimit: limit)
        broker.enqueue(evaluation("e", job: "a", createdAt: 0), now: t0)
        broker.enqueue(evaluation("next", job: "a", createdAt: 1), now: t0)
        for delivery in 1...limit {
            let (e, token) = try take(&broker)
            #expect(e.id == "e")
            #expect(broker.nack("e", token: token + 1) == nil, "a wrong token is ignored")
            let failed = broker.nack("e", token: token)
            if delivery < limit {
                #expect(failed == nil, "delivery \(delivery) of \(limit) is redelivered")
            } else {
                #expect(failed?.id == "e", "the last delivery hands it back")
            }
        }
        #expect(broker.count == 1)
        #expect(drain(&broker) == ["next"], "exhausting releases the job's waiting evaluation")
    }

    @Test func nackedEvaluationReturnsInPriorityOrder() throws {
        var broker = EvaluationBroker()
        broker.enqueue(evaluation("high", priority: 90), now: t0)
        let (_, token) = try take(&broker)
        broker.enqueue(evaluation("low", priority: 10), now: t0)
        #expect(broker.nack("high", token: token) == nil)
        #expect(drain(&broker) == ["high", "low"])
    }

    @Test func expireRedeliversOnlyThosePastTheTimeout() throws {
        var broker = EvaluationBroker(deliveryTimeout: .seconds(30), deliveryLimit: 2)
        broker.enqueue(evaluation("early", createdAt: 0), now: t0)
        broker.enqueue(evaluation("late", createdAt: 1), now: t0)
        _ = try take(&broker)
        let (late, lateToken) = try take(&broker, now: t0 + .seconds(10))
        #expect(late.id == "late")

        #expect(broker.expire(now: t0 + .seconds(29)).isEmpty)
        #expect(broker.dequeue(now: t0 + .seconds(29)) == nil, "nothing timed out yet")
        #expect(broker.expire(now: t0 + .seconds(30)).isEmpty, "first timeout redelivers")
        #expect(drain(&broker, now: t0 + .seconds(30)) == ["early"])
        broker.ack("late", token: lateToken)

        let failed = broker.expire(now: t0 + .seconds(60))
        #expect(failed.map(\.id) == ["early"], "second timeout exhausts a limit of 2")
        #expect(broker.count == 0)
    }

    @Test func delayedEvaluationIsHeldUntilWaitUntil() throws {
        var broker = EvaluationBroker()
        broker.enqueue(evaluation("later", waitUntil: t0 + .seconds(20)), now: t0)
        broker.enqueue(evaluation("soon", waitUntil: t0 + .seconds(10)), now: t0)
        broker.enqueue(evaluation("past", waitUntil: t0 - .seconds(1)), now: t0)
        #expect(broker.count == 3)
        #expect(broker.nextWakeUp == t0 + .seconds(10))
        #expect(drain(&broker) == ["past"], "a waitUntil already passed is ready at once")
        #expect(drain(&broker, now: t0 + .seconds(9)).isEmpty)
        #expect(drain(&broker, now: t0 + .seconds(10)) == ["soon"])
        #expect(broker.nextWakeUp == t0 + .seconds(20))
        #expect(drain(&broker, now: t0 + .seconds(25)) == ["later"])
        #expect(broker.nextWakeUp == nil)
    }

    @Test func promotedDelayedEvaluationStillWaitsForItsJob() throws {
        var broker = EvaluationBroker()
        broker.enqueue(evaluation("now", job: "a", createdAt: 0), now: t0)
        broker.enqueue(evaluation("delayed", job: "a", createdAt: 1, waitUntil: t0 + .seconds(5)), now: t0)
        let (_, token) = try take(&broker)
        #expect(broker.dequeue(now: t0 + .seconds(5)) == nil, "job a is outstanding")
        broker.ack("now", token: token)
        #expect(drain(&broker, now: t0 + .seconds(5)) == ["delayed"])
    }

    /// The leader wakes this many workers: never fewer than the evaluations
    /// a dequeue would hand out, and none when there is nothing to hand out.
    @Test func dequeueableCountsReadyAndDueEvaluations() throws {
        var broker = EvaluationBroker()
        #expect(broker.dequeueable(now: t0) == 0)
        broker.enqueue(evaluation("a1", job: "a", createdAt: 0), now: t0)
        broker.enqueue(evaluation("a2", job: "a", createdAt: 1), now: t0)
        broker.enqueue(evaluation("b", createdAt: 2), now: t0)
        broker.enqueue(evaluation("later", waitUntil: t0 + .seconds(5)), now: t0)
        #expect(broker.dequeueable(now: t0) == 2, "a2 waits behind a1; later is not due")
        let (_, token) = try take(&broker)
        #expect(broker.dequeueable(now: t0) == 1)
        #expect(broker.dequeueable(now: t0 + .seconds(5)) == 2, "later is due")
        broker.ack("a1", token: token)
        #expect(broker.dequeueable(now: t0) == 2, "a2 is ready once a1 is acked")
        #expect(drain(&broker, now: t0 + .seconds(5)).count == 3)
        #expect(broker.dequeueable(now: t0 + .seconds(5)) == 0)
    }

    @Test func enqueueingAHeldEvaluationAgainIsIgnored() throws {
        var broker = EvaluationBroker()
        broker.enqueue(evaluation("e"), now: t0)
        broker.enqueue(evaluation("e"), now: t0)
        #expect(broker.count == 1)
        let (_, token) = try take(&broker)
        broker.enqueue(evaluation("e"), now: t0)
        #expect(broker.dequeue(now: t0) == nil, "an outstanding one is not queued twice")
        broker.ack("e", token: token)
        #expect(broker.count == 0)
        broker.enqueue(evaluation("e"), now: t0)
        #expect(drain(&broker) == ["e"], "once acked it may be enqueued again")
    }

    /// The heap pops in the order a stable sort by (priority desc, createdAt asc) gives.
    @Test(arguments: [UInt64(1), 7, 42, 2_026])
    func readyQueuePopsInStableSortedOrder(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        var queue = ReadyQueue()
        var pushed: [Evaluation] = []
        for i in 0..<500 {
            let e = evaluation("e\(i)", priority: Int.random(in: 1...5, using: &rng) * 20,
                               createdAt: Int64.random(in: 0...20, using: &rng))
            queue.push(e)
            pushed.append(e)
        }
        let expected = pushed.enumerated().sorted { a, b in
            if a.element.priority != b.element.priority { return a.element.priority > b.element.priority }
            if a.element.createdAt != b.element.createdAt { return a.element.createdAt < b.element.createdAt }
            return a.offset < b.offset
        }.map(\.element.id)
        var popped: [EvaluationID] = []
        while let e = queue.pop() { popped.append(e.id) }
        #expect(popped == expected, "seed \(seed)")
    }
}
