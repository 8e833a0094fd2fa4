import NIOCore
import NIOPosix

/// Makes SwiftNIO's shared event loops (`MultiThreadedEventLoopGroup.singleton`,
/// which carry gRPC's connections and the Raft drivers) Swift concurrency's
/// global executor, for a whole process.
///
/// Without it a request goes from an I/O thread to Swift's cooperative pool
/// to the Raft driver's loop and back the same way, each hop a futex or
/// eventfd wake-up of another thread; with it, a process has one set of
/// busy threads (one per core) and a task started on a loop stays on it. At
/// 300 jobs/s that cut submit->running p50 from about 13 to 9 ms.
///
/// The price: a task that blocks holds up the connections of its loop, so
/// blocking work goes elsewhere: snapshot encoding and removing directories
/// to NIO's blocking pool (`NIOThreadPool.singleton`), synced writes to
/// another thread while the disk is slower to sync than a hand-off costs.
/// Wasm guests run on threads of their own.
public enum SwiftTasksOnEventLoops {
    /// Installs the loops as the global executor; call once, first thing in
    /// `main`, before any task starts. Returns whether it took effect.
    @discardableResult
    public static func install() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
