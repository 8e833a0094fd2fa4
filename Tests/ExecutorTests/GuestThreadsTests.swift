import Foundation
import Synchronization
import Testing

@testable import Executor

@Suite("guest threads")
struct GuestThreadsTests {
    /// Waits (bounded) until `condition` holds.
    func eventually(_ seconds: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while !condition() {
            if Date() > deadline { return false }
            usleep(1_000)
        }
        return true
    }

    @Test("every running guest has a thread of its own, and ended guests' threads are reused")
    func oneThreadPerRunningGuestReused() {
        let threads = GuestThreads(idleLifetime: 30)
        let count = 12
        var previous: Set<UInt> = []
        for round in 0..<2 {
            // Each body waits until all have started: one waiting behind another would never finish.
            let started = Atomic<Int>(0)
            let finished = Atomic<Int>(0)
            let ids = Mutex<Set<UInt>>([])
            for _ in 0..<count {
                threads.run(named: "test-guest") {
                    ids.withLock { _ = $0.insert(UInt(bitPattern: Int(bitPattern: pthread_self()))) }
                    started.add(1, ordering: .relaxed)
                    let deadline = Date(timeIntervalSinceNow: 10)
                    while started.load(ordering: .relaxed) < count && Date() < deadline { usleep(500) }
                    finished.add(1, ordering: .relaxed)
                }
            }
            #expect(eventually { finished.load(ordering: .relaxed) == count }, "round \(round)")
            #expect(started.load(ordering: .relaxed) == count, "round \(round)")
            #expect(ids.withLock { $0.count } == count, "round \(round): one thread per running guest")
            #expect(eventually { threads.idleThreads == count }, "round \(round): the threads wait for more")
            if round > 0 { #expect(ids.withLock { $0 } == previous, "the second round ran on the first round's threads") }
            previous = ids.withLock { $0 }
        }
    }

    @Test("an idle thread exits after its lifetime")
    func idleThreadsExit() {
        let threads = GuestThreads(idleLifetime: 0.05)
        let done = Atomic<Bool>(false)
        threads.run(named: "test-guest") { done.store(true, ordering: .relaxed) }
        #expect(eventually { done.load(ordering: .relaxed) })
        #expect(eventually { threads.idleThreads == 0 })
    }
}
