import Foundation

/// The threads guests run on. A guest blocks its thread for as long as it
/// runs, so there is one thread per running guest; a thread whose guest
/// ended waits a while for the next instead of exiting, since creating one
/// (a clone and an 8 MiB stack mapped and unmapped) cost more than running a
/// short guest.
final class GuestThreads: @unchecked Sendable {
    static let shared = GuestThreads()

    /// How long a thread waits for another guest before it exits.
    let idleLifetime: TimeInterval
    private let condition = NSCondition()
    /// Guarded by `condition`: work handed to an idle thread, and how many
    /// idle threads are not yet promised any.
    private var queue: [@Sendable () -> Void] = []
    private var idle = 0

    init(idleLifetime: TimeInterval = 10) {
        self.idleLifetime = idleLifetime
    }

    /// Runs `body` on a thread of its own, named `name`.
    func run(named name: String, _ body: @escaping @Sendable () -> Void) {
        condition.lock()
        if idle > 0 {
            idle -= 1
            queue.append { Thread.current.name = name; body() }
            condition.signal()
            condition.unlock()
            return
        }
        condition.unlock()
        let thread = Thread { [self] in
            Thread.current.name = name
            body()
            while let next = nextWork() { next() }
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Threads waiting for a guest (for tests).
    var idleThreads: Int {
        condition.lock()
        defer { condition.unlock() }
        return idle
    }

    /// Work for a thread whose guest ended, or nil when none came within
    /// `idleLifetime` (the thread then exits).
    private func nextWork() -> (@Sendable () -> Void)? {
        condition.lock()
        defer { condition.unlock() }
        idle += 1
        let deadline = Date(timeIntervalSinceNow: idleLifetime)
        while queue.isEmpty {
            if !condition.wait(until: deadline) && queue.isEmpty {
                idle -= 1
                return nil
            }
        }
        // `run` counted this thread out of `idle` when it queued the work.
        return queue.removeFirst()
    }
}
