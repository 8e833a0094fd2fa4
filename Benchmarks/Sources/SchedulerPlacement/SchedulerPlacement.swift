#if canImport(Glibc)
import Glibc
#endif
import Model
import Scheduler

/// CPU time of this process (all threads; the benchmark is single-threaded).
func cpuTime() -> Duration {
    #if canImport(Glibc)
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return .seconds(Int64(ts.tv_sec)) + .nanoseconds(Int64(ts.tv_nsec))
    #else
    return .zero
    #endif
}

/// Places 1,000,000 allocations (1,000 jobs × 1,000) onto 10,000 simulated
/// nodes, one evaluation per job, applying each plan to the cluster state
/// before the next, as the leader would. Prints placements per second of the
/// scheduler alone and with plan application, on one core.
///
///     swift run -c release --scratch-path .build-sched SchedulerPlacement \
///         [--nodes 10000] [--jobs 1000] [--count 1000] [--type batch|service] [--seed 1]
@main
struct SchedulerPlacement {
    static func main() throws {
        var nodes = 10_000, jobs = 1_000, count = 1_000, seed: UInt64 = 1
        var type = JobType.batch
        var args = CommandLine.arguments.dropFirst()
        while let flag = args.popFirst() {
            let value = args.popFirst() ?? ""
            switch flag {
            case "--nodes": nodes = Int(value) ?? nodes
            case "--jobs": jobs = Int(value) ?? jobs
            case "--count": count = Int(value) ?? count
            case "--seed": seed = UInt64(value) ?? seed
            case "--type": type = JobType(rawValue: value) ?? type
            default: print("unknown flag \(flag)")
            }
        }
        print("SchedulerPlacement: \(jobs) \(type.rawValue) jobs × \(count) allocations onto \(nodes) nodes, seed \(seed)")

        let clock = ContinuousClock()
        var state = ClusterState()
        let setup = clock.measure {
            state.reserveCapacity(nodes: nodes, allocations: jobs * count)
            for i in 0..<nodes {
                state.upsert(Node(
                    id: NodeID("node-\(i)"), datacenter: "dc\(i % 3 + 1)", nodeClass: i % 10 == 0 ? "large" : "",
                    attributes: ["kernel.name": "linux", "cpu.arch": i % 4 == 0 ? "arm64" : "amd64", "rack": "r\(i % 40)"],
                    resources: NodeResources(cpu: 32_000, cores: 16, memoryMB: 131_072, diskMB: 1_000_000),
                    drivers: ["exec": DriverInfo(), "docker": DriverInfo()]))
            }
        }
        print("  cluster of \(nodes) nodes built in \(setup)")

        let scheduler = Scheduler()
        var rng = SeededGenerator(seed: seed)
        var scheduling = Duration.zero, applying = Duration.zero, schedulingCPU = Duration.zero
        var placed = 0, failed = 0
        let now = Timestamp(seconds: 1_700_000_000)
        for j in 0..<jobs {
            var spec = JobSpec(id: "job-\(j)", type: type, priority: 50, groups: [
                GroupSpec(name: "g", count: count, type: type, tasks: [
                    TaskSpec(name: "t", driver: j % 2 == 0 ? "exec" : "docker",
                             resources: Resources(cpu: 100, memoryMB: 256)),
                ]),
            ])
            if j % 5 == 0 {
                spec.constraints = [Constraint(attribute: "${attr.kernel.name}", operator: .equal, value: "linux")]
            }
            let evaluation = Evaluation(id: EvaluationID("eval-\(j)"), jobID: spec.id, jobType: type,
                                        priority: spec.priority, trigger: .jobRegister, createdAt: now)
            var plan: Plan?
            let cpuStart = cpuTime()
            scheduling += try clock.measure {
                plan = try scheduler.process(evaluation: evaluation, job: Job(spec: spec), state: state, now: now,
                                             rng: &rng)
            }
            schedulingCPU += cpuTime() - cpuStart
            applying += clock.measure { state.apply(plan!, at: now) }
            placed += plan!.placements.count
            failed += plan!.failedPlacements.reduce(0) { $0 + $1.count }
            if (j + 1) % max(1, jobs / 10) == 0 {
                let rate = Double(placed) / scheduling.seconds
                print("  \(j + 1) jobs: \(placed) placed, \(Int(rate)) placements/s (scheduler)")
            }
        }
        let total = scheduling + applying
        print("placed \(placed), failed \(failed)")
        print("scheduler: \(format(scheduling)) → \(Int(Double(placed) / scheduling.seconds)) placements/s")
        print("scheduler, CPU time: \(format(schedulingCPU)) → \(Int(Double(placed) / schedulingCPU.seconds)) placements/s of CPU")
        print("scheduler + plan apply: \(format(total)) → \(Int(Double(placed) / total.seconds)) placements/s")
        print("baseline: Nomad C1M ≈ 3,750 placements/s (1M containers < 5 min, 5 servers); goal ≥ 50,000/s on one core")
        var overCommitted = 0
        for (i, node) in state.nodes.enumerated() where state.usage[i].memoryMB > node.resources.memoryMB
            || state.usage[i].cpu > node.resources.cpu {
            overCommitted += 1
        }
        let perNode = state.usage.map(\.memoryMB)
        print("check: \(overCommitted) nodes over-committed; memory per node min \(perNode.min() ?? 0) MB, max \(perNode.max() ?? 0) MB")
    }

    static func format(_ d: Duration) -> String {
        let s = d.seconds
        return s < 1 ? "\(Int(s * 1000)) ms" : "\((s * 100).rounded() / 100) s"
    }
}
