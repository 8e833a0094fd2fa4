import Model
import Synchronization

/// Wakes the allocation watchers of nodes whose assignments changed, and
/// keeps for each watcher the allocations it must look at again.
///
/// Wake-ups coalesce: a watcher that was busy takes every allocation changed
/// since it last looked, in one go. Looking at only those keeps a wake-up's
/// cost independent of how many allocations the node holds.
final class AllocationWatchHub: Sendable {
    /// What a watcher must look at again.
    enum Changed: Equatable, Sendable {
        case allocations(Set<AllocationID>)
        /// All of the node's allocations: at the start, and after the state
        /// was replaced by a snapshot.
        case everything

        mutating func formUnion(_ ids: Set<AllocationID>) {
            if case .allocations(let known) = self { self = .allocations(known.union(ids)) }
        }
    }

    /// One node's watch: wake-ups, what changed since the last ``take``, and
    /// `cancel` to stop watching.
    struct Watch: Sendable {
        let wakeups: AsyncStream<Void>
        let take: @Sendable () -> Changed
        let cancel: @Sendable () -> Void
    }

    private struct Watcher {
        let continuation: AsyncStream<Void>.Continuation
        var changed: Changed
    }

    private struct Watchers {
        var next: UInt64 = 0
        var byNode: [NodeID: [UInt64: Watcher]] = [:]
    }

    private let watchers = Mutex(Watchers())

    /// A watch that wakes once now (to look at everything) and after every
    /// change to `node`'s assignments.
    func watch(_ node: NodeID) -> Watch {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        continuation.yield()
        let id = watchers.withLock { w in
            w.next += 1
            w.byNode[node, default: [:]][w.next] = Watcher(continuation: continuation, changed: .everything)
            return w.next
        }
        return Watch(
            wakeups: stream,
            take: { [self] in
                watchers.withLock { w in
                    guard let changed = w.byNode[node]?[id]?.changed else { return .allocations([]) }
                    w.byNode[node]?[id]?.changed = .allocations([])
                    return changed
                }
            },
            cancel: { [self] in
                let removed = watchers.withLock { w in
                    let removed = w.byNode[node]?.removeValue(forKey: id)
                    if w.byNode[node]?.isEmpty == true { w.byNode[node] = nil }
                    return removed
                }
                removed?.continuation.finish()
            })
    }

    /// Records `changed` allocations for their nodes' watchers; wakes them
    /// when `wake` (otherwise they look at these at their next wake-up).
    func notify(_ changed: [NodeID: Set<AllocationID>], wake: Bool = true) {
        let targets = watchers.withLock { w in
            var targets: [AsyncStream<Void>.Continuation] = []
            for (node, ids) in changed {
                guard let watching = w.byNode[node]?.keys else { continue }
                for id in watching {
                    w.byNode[node]?[id]?.changed.formUnion(ids)
                    if wake, let continuation = w.byNode[node]?[id]?.continuation { targets.append(continuation) }
                }
            }
            return targets
        }
        for target in targets { target.yield() }
    }

    /// Wakes every watcher to look at all of its node's allocations (the
    /// state was replaced by a snapshot).
    func notifyEverything() {
        let targets = watchers.withLock { w in
            var targets: [AsyncStream<Void>.Continuation] = []
            w.byNode = w.byNode.mapValues { watching in
                watching.mapValues { watcher in
                    targets.append(watcher.continuation)
                    return Watcher(continuation: watcher.continuation, changed: .everything)
                }
            }
            return targets
        }
        for target in targets { target.yield() }
    }

    /// Ends every watch (shutdown).
    func finishAll() {
        let all = watchers.withLock { w in
            defer { w.byNode = [:] }
            return w.byNode.values.flatMap(\.values)
        }
        for watcher in all { watcher.continuation.finish() }
    }
}
