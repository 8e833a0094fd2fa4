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
/// The test is a necessary condition, never a sufficient one: CPU and memory
/// must fit on one schedulable node and in what the ones woken before left.
/// What it cannot judge cheaply is always woken: asks of whole cores, disk
/// or devices, jobs gone or stopped, and jobs that could preempt.
public enum BlockedEvaluations {
    /// The evaluations of `blocked` (any order) worth planning now, oldest first.
    public static func worthPlanning(
        _ blocked: [Evaluation], jobs: (JobKey) -> Job?, cluster: ClusterState,
        configuration: SchedulerConfiguration = SchedulerConfiguration()
    ) -> [Evaluation] {
        var free = FreeCapacity(cluster)
        // The lowest priority placed anywhere: a job at least the preemption
        // delta above it may make room by preempting.
        let lowestPriority = cluster.lowestUnfinishedPriority
        var selected: [Evaluation] = []
        for evaluation in blocked.sorted(by: { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }) {
            guard let job = jobs(evaluation.jobKey), !job.stopped else {
                selected.append(evaluation)
                continue
            }
            if configuration.preemptionEnabled.contains(job.spec.type), let lowestPriority,
               job.spec.priority - configuration.preemptionPriorityDelta >= lowestPriority {
                selected.append(evaluation)
                continue
            }
            let asks = job.spec.groups.map { ResourceAsk($0) }
            guard let smallest = asks.min(by: { ($0.cpu, $0.memoryMB) < ($1.cpu, $1.memoryMB) }) else {
                selected.append(evaluation)
                continue
            }
            if smallest.cores > 0 || smallest.diskMB > 0 || !smallest.devices.isEmpty || free.take(smallest) {
                selected.append(evaluation)
            }
        }
        return selected
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
