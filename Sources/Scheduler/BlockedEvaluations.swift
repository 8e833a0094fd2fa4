import Model

/// Which blocked evaluations to set pending again when capacity changes.
///
/// Setting every blocked evaluation pending on every change made the
/// scheduler re-plan thousands of jobs each time one allocation finished,
/// nearly all of them only to block again, and the plans that did place work
/// queued behind them. Only an evaluation that the free capacity could now
/// serve is worth a plan: oldest first, each takes its job's smallest
/// allocation out of what is free, so ten freed slots wake about ten
/// evaluations, not all of them.
///
/// Evaluations already queued for a plan come first: the broker hands them
/// out before any woken now, so each takes its job's smallest allocation out
/// of what is free before a blocked one is offered the rest. (Woken anyway,
/// a blocked evaluation lost the slot to them and blocked again, at the cost
/// of a plan through Raft: under a stream of registrations, most jobs did so
/// two to five times.)
///
/// The test is a necessary condition, never a sufficient one: CPU and memory
/// must fit on one schedulable node and in what the ones woken before left.
/// What it cannot judge cheaply is always woken: asks of whole cores, disk
/// or devices, jobs gone or stopped, and jobs that could preempt.
public enum BlockedEvaluations {
    /// The evaluations of `blocked` (any order) worth planning now, oldest
    /// first, once the evaluations queued ahead of them took their share
    /// (`queued` names their jobs, one entry per evaluation).
    /// `asks` tells what each job asks for (nil for a job that is gone).
    ///
    /// Thousands may be blocked while only a few slots came free, so the
    /// evaluations are first sorted out by what their jobs ask, and only those
    /// the free capacity decides are ordered (by creation time, read once
    /// each), walked oldest first, and only until nothing more could fit. The
    /// queued ones are walked only until what is left could fit none of them.
    public static func worthPlanning(
        _ blocked: [Evaluation], queued: [JobKey] = [], asks: (JobKey) -> JobAsk?, cluster: ClusterState,
        configuration: SchedulerConfiguration = SchedulerConfiguration()
    ) -> [Evaluation] {
        // The lowest priority placed anywhere: a job at least the preemption
        // delta above it may make room by preempting.
        let lowestPriority = cluster.lowestUnfinishedPriority
        var selected: [Int] = []
        // Evaluations the free CPU and memory decide, with their job's smallest
        // ask (in `candidateAsks`, so that sorting moves plain values only).
        var candidates: [(createdAt: Timestamp, evaluation: Int, ask: Int)] = []
        var candidateAsks: [ResourceAsk] = []
        var leastCPU = Int.max
        var leastMemoryMB = Int.max
        for i in blocked.indices {
            guard let job = asks(blocked[i].jobKey), !job.stopped else {
                selected.append(i)
                continue
            }
            if configuration.preemptionEnabled.contains(job.type), let lowestPriority,
               job.priority - configuration.preemptionPriorityDelta >= lowestPriority {
                selected.append(i)
                continue
            }
            guard let smallest = job.smallest, smallest.cores == 0, smallest.diskMB == 0, smallest.devices.isEmpty else {
                selected.append(i)
                continue
            }
            candidates.append((blocked[i].createdAt, i, candidateAsks.count))
            candidateAsks.append(smallest)
            leastCPU = min(leastCPU, smallest.cpu)
            leastMemoryMB = min(leastMemoryMB, smallest.memoryMB)
        }
        func older(_ a: Int, _ b: Int) -> Bool {
            (blocked[a].createdAt, blocked[a].id) < (blocked[b].createdAt, blocked[b].id)
        }
        if !candidates.isEmpty {
            var free = FreeCapacity(cluster)
            for key in queued {
                guard free.couldFit(cpu: leastCPU, memoryMB: leastMemoryMB) else { break }
                if let job = asks(key), !job.stopped, let ask = job.smallest { _ = free.take(ask) }
            }
            if free.couldFit(cpu: leastCPU, memoryMB: leastMemoryMB) {
                // By creation time, read once per candidate; the id only breaks ties.
                candidates.sort { a, b in
                    a.createdAt != b.createdAt ? a.createdAt < b.createdAt : blocked[a.evaluation].id < blocked[b.evaluation].id
                }
                for candidate in candidates {
                    if free.take(candidateAsks[candidate.ask]) { selected.append(candidate.evaluation) }
                    if !free.couldFit(cpu: leastCPU, memoryMB: leastMemoryMB) { break }
                }
            }
        }
        return selected.sorted(by: older).map { blocked[$0] }
    }

    /// What the test needs of a job, taken from it once per version: reading
    /// each blocked and queued evaluation's job and groups on every pass cost
    /// the leader more than the plans it woke.
    public struct JobAsk: Sendable {
        public var stopped: Bool
        var type: JobType
        var priority: Int
        /// What its smallest allocation asks for; nil when it has no groups.
        var smallest: ResourceAsk?

        public init(_ job: Job) {
            stopped = job.stopped
            type = job.spec.type
            priority = job.spec.priority
            for group in job.spec.groups {
                let ask = ResourceAsk(group)
                if smallest.map({ (ask.cpu, ask.memoryMB) < ($0.cpu, $0.memoryMB) }) ?? true { smallest = ask }
            }
        }
    }

    /// CPU and memory free on schedulable nodes: in all, and on the freest node.
    struct FreeCapacity {
        var cpu = 0
        var memoryMB = 0
        var largestCPU = 0
        var largestMemoryMB = 0

        init(_ cluster: ClusterState) {
            for (i, node) in cluster.nodes.enumerated() where node.isSchedulable {
                let cpu = max(0, cluster.capacity[i].cpu - cluster.usage[i].cpu)
                let memory = max(0, cluster.capacity[i].memoryMB - cluster.usage[i].memoryMB)
                self.cpu += cpu
                memoryMB += memory
                largestCPU = max(largestCPU, cpu)
                largestMemoryMB = max(largestMemoryMB, memory)
            }
        }

        /// Whether an ask this small could fit at all (what ``take(_:)`` checks first).
        func couldFit(cpu askedCPU: Int, memoryMB askedMemoryMB: Int) -> Bool {
            askedCPU <= min(cpu, largestCPU) && askedMemoryMB <= min(memoryMB, largestMemoryMB)
        }

        /// Takes `ask` out of what is free; false when it cannot fit.
        mutating func take(_ ask: ResourceAsk) -> Bool {
            guard ask.cpu <= largestCPU, ask.memoryMB <= largestMemoryMB,
                  ask.cpu <= cpu, ask.memoryMB <= memoryMB else { return false }
            cpu -= ask.cpu
            memoryMB -= ask.memoryMB
            return true
        }
    }
}
