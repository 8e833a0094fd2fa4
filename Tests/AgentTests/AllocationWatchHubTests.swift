import Testing
import Model
import Synchronization
@testable import Agent

/// The node allocation watch looks at only the allocations changed since it
/// last looked; these pin what the hub hands it.
struct AllocationWatchHubTests {
    private let node = NodeID("n1")

    @Test func aWatchStartsWithEverythingAndThenTakesOnlyWhatChanged() async {
        let hub = AllocationWatchHub()
        let watch = hub.watch(node)
        defer { watch.cancel() }
        var wakeups = watch.wakeups.makeAsyncIterator()
        #expect(await wakeups.next() != nil, "a new watch wakes at once")
        #expect(watch.take() == .everything)
        #expect(watch.take() == .allocations([]), "taking empties it")

        hub.notify([node: ["a1"], NodeID("n2"): ["b1"]])
        hub.notify([node: ["a2"]])
        #expect(await wakeups.next() != nil)
        #expect(watch.take() == .allocations(["a1", "a2"]), "wake-ups coalesce; other nodes' changes stay out")
    }

    /// A watch of `node` past its first wake-up, with nothing left to take.
    private func watchPastItsStart(_ hub: AllocationWatchHub) async -> (AllocationWatchHub.Watch, AsyncStream<Void>.Iterator) {
        let watch = hub.watch(node)
        var wakeups = watch.wakeups.makeAsyncIterator()
        _ = await wakeups.next()
        _ = watch.take()
        return (watch, wakeups)
    }

    @Test func finishedAllocationsWaitForTheNextWakeUp() async {
        let hub = AllocationWatchHub()
        var (watch, wakeups) = await watchPastItsStart(hub)
        defer { watch.cancel() }
        hub.notify([node: ["done"]], wake: false)
        hub.notify([node: ["placed"]])
        _ = await wakeups.next()
        #expect(watch.take() == .allocations(["done", "placed"]))
    }

    @Test func aReplacedStateMakesEveryWatchLookAtEverything() async {
        let hub = AllocationWatchHub()
        var (watch, wakeups) = await watchPastItsStart(hub)
        defer { watch.cancel() }
        hub.notify([node: ["a1"]], wake: false)
        hub.notifyEverything()
        #expect(await wakeups.next() != nil)
        #expect(watch.take() == .everything)
    }

    @Test func restoringASnapshotReportsTheStateReplaced() throws {
        let source = ServerStateMachine()
        let seen = Mutex<[ServerState.Changes]>([])
        let restored = ServerStateMachine { changes in seen.withLock { $0.append(changes) } }
        try restored.restore(source.snapshot()())
        #expect(seen.withLock { $0.map(\.stateReplaced) } == [true])
    }
}
