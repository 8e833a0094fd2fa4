import Foundation
import Logging
import Model

/// The leader's heartbeat clock for client nodes: each node must heartbeat
/// within its TTL or the leader marks it down (or disconnected).
///
/// The TTL grows with the cluster, as Nomad's does, so that heartbeats stay
/// under `maxHeartbeatsPerSecond` in all: a TTL of at least `minimumTTL`, and
/// of `nodes / maxHeartbeatsPerSecond` seconds beyond that. A new leader gives
/// every node a full TTL plus a grace period before judging it, since it
/// cannot know when the old leader last heard from each.
actor HeartbeatMonitor {
    private let plane: ControlPlane
    private let minimumTTL: Duration
    private let maxHeartbeatsPerSecond: Double
    private let logger: Logger
    private var deadlines: [NodeID: ContinuousClock.Instant] = [:]
    private var loop: Task<Void, Never>?

    init(plane: ControlPlane, minimumTTL: Duration, maxHeartbeatsPerSecond: Double = 50, logger: Logger) {
        self.plane = plane
        self.minimumTTL = minimumTTL
        self.maxHeartbeatsPerSecond = maxHeartbeatsPerSecond
        self.logger = logger
    }

    /// The TTL a node is given now.
    var ttl: Duration {
        let spread = Duration.seconds(Double(deadlines.count) / maxHeartbeatsPerSecond)
        return max(minimumTTL, spread)
    }

    /// Starts judging the nodes the state holds as live.
    func becameLeader() {
        let now = ContinuousClock.now
        let grace = ttl * 2
        deadlines = [:]
        for node in plane.stateMachine.snapshotOfState.cluster.nodes where node.status == .ready || node.status == .initializing {
            deadlines[node.id] = now + grace
        }
        loop?.cancel()
        loop = Task { await self.watch() }
    }

    func lostLeadership() {
        loop?.cancel()
        loop = nil
        deadlines = [:]
    }

    /// Records a heartbeat (or registration); returns the TTL until the next.
    func heartbeat(_ node: NodeID) -> Duration {
        let ttl = self.ttl
        deadlines[node] = .now + ttl
        return ttl
    }

    private func watch() async {
        while !Task.isCancelled {
            let now = ContinuousClock.now
            let expired = deadlines.filter { $0.value <= now }.map(\.key)
            for node in expired {
                deadlines[node] = nil
                do {
                    try await plane.nodeMissedHeartbeat(node)
                    logger.warning("node \(node) missed its heartbeat")
                } catch {
                    // Not applied (leadership lost, overload): judge it again soon.
                    deadlines[node] = .now + .seconds(1)
                    logger.info("could not mark node \(node) after a missed heartbeat: \(error)")
                }
            }
            let next = deadlines.values.min().map { min($0 - .now, .seconds(1)) } ?? .seconds(1)
            try? await Task.sleep(for: max(next, .milliseconds(20)))
        }
    }
}
