import Model
import Synchronization

/// Wakes the allocation watchers of nodes whose assignments changed.
///
/// A wake-up carries nothing: the watcher reads the state and sends what
/// differs from what it sent before, so wake-ups that arrive while it is busy
/// coalesce into one.
final class AllocationWatchHub: Sendable {
    private struct Watchers {
        var next: UInt64 = 0
        var byNode: [NodeID: [UInt64: AsyncStream<Void>.Continuation]] = [:]
    }
    private let watchers = Mutex(Watchers())

    /// A stream that yields once now and after every change to `node`'s
    /// assignments; call the returned function to stop watching.
    func watch(_ node: NodeID) -> (AsyncStream<Void>, cancel: @Sendable () -> Void) {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        continuation.yield()
        let id = watchers.withLock { w in
            w.next += 1
            w.byNode[node, default: [:]][w.next] = continuation
            return w.next
        }
        return (stream, { [self] in
            let removed = self.watchers.withLock { w in w.byNode[node]?.removeValue(forKey: id) }
            removed?.finish()
        })
    }

    func notify(_ nodes: Set<NodeID>) {
        let targets = watchers.withLock { w in nodes.flatMap { w.byNode[$0].map { Array($0.values) } ?? [] } }
        for target in targets { target.yield() }
    }

    /// Ends every watch (shutdown).
    func finishAll() {
        let all = watchers.withLock { w in
            defer { w.byNode = [:] }
            return w.byNode.values.flatMap(\.values)
        }
        for c in all { c.finish() }
    }
}
