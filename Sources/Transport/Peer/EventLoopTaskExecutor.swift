import NIOCore

/// Runs tasks on one SwiftNIO event loop: a task that prefers it
/// (`withTaskExecutorPreference`) runs on the loop's thread between the
/// loop's I/O, and so do the tasks it starts.
///
/// Raft traffic uses it to stay on the Raft driver's loop: the driver, the
/// lanes that send its messages and the connections they write to share one
/// thread, so a message goes from a `Ready` to the socket without waking
/// another thread, and an inbound batch reaches the driver with one wake-up
/// (the server's I/O thread to this loop) instead of two (to Swift's pool,
/// then to the loop).
public final class EventLoopTaskExecutor: TaskExecutor {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
