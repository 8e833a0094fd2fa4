import Model
@testable import Scheduler

/// Builders for nodes, jobs and evaluations used across the scheduler tests.
enum Fixture {
    static func node(_ id: String, dc: String = "dc1", cpu: Int = 4000, cores: Int = 4, memory: Int = 8192,
                     disk: Int = 100_000, attributes: [String: String] = ["kernel.name": "linux", "os.name": "ubuntu"],
                     meta: [String: String] = [:], nodeClass: String = "", drivers: [String] = ["exec", "docker"],
                     datasets: [String: Int64] = [:], devices: [NodeDeviceGroup] = [],
                     status: NodeStatus = .ready) -> Node {
        Node(id: NodeID(id), datacenter: dc, nodeClass: nodeClass, status: status, attributes: attributes, meta: meta,
             resources: NodeResources(cpu: cpu, cores: cores, memoryMB: memory, diskMB: disk, devices: devices),
             drivers: Dictionary(uniqueKeysWithValues: drivers.map { ($0, DriverInfo()) }),
             datasets: datasets.mapValues { DatasetInfo(sizeBytes: $0) })
    }

    static func task(driver: String = "exec", cpu: Int = 500, memory: Int = 256, inputs: [DataInput] = [],
                     devices: [DeviceRequest] = []) -> TaskSpec {
        TaskSpec(name: "main", driver: driver, resources: Resources(cpu: cpu, memoryMB: memory, devices: devices),
                 inputs: inputs)
    }

    static func job(_ id: String, type: JobType = .service, count: Int = 1, priority: Int = 50,
                    cpu: Int = 500, memory: Int = 256, driver: String = "exec", constraints: [Constraint] = [],
                    groupConstraints: [Constraint] = [], affinities: [Affinity] = [], spreads: [Spread] = [],
                    inputs: [DataInput] = [], devices: [DeviceRequest] = [], update: UpdateStrategy? = nil,
                    disconnect: DisconnectStrategy? = nil, reschedule: ReschedulePolicy? = nil,
                    datacenters: [String] = ["*"]) -> JobSpec {
        JobSpec(id: id, type: type, priority: priority, datacenters: datacenters, constraints: constraints,
                groups: [GroupSpec(name: "g", count: count, type: type, constraints: groupConstraints,
                                   affinities: affinities, spreads: spreads, reschedule: reschedule,
                                   disconnect: disconnect, update: update,
                                   tasks: [task(driver: driver, cpu: cpu, memory: memory, inputs: inputs,
                                                devices: devices)])])
    }

    static func evaluation(_ job: JobSpec, trigger: EvaluationTrigger = .jobRegister) -> Evaluation {
        Evaluation(id: EvaluationID("eval-\(job.id)"), namespace: job.namespace, jobID: job.id, jobType: job.type,
                   priority: job.priority, trigger: trigger)
    }

    static let t0 = Timestamp(seconds: 1_700_000_000)

    /// Runs the scheduler once.
    static func plan(_ spec: JobSpec, version: Int = 0, state: ClusterState, now: Timestamp = t0, seed: UInt64 = 1,
                     configuration: SchedulerConfiguration = SchedulerConfiguration()) throws -> Plan {
        var rng = SeededGenerator(seed: seed)
        return try Scheduler(configuration: configuration).process(
            evaluation: evaluation(spec), job: Job(spec: spec, version: version), state: state, now: now, rng: &rng)
    }

    /// Schedules, applies the plan, and marks placements running.
    @discardableResult
    static func run(_ spec: JobSpec, version: Int = 0, state: inout ClusterState, now: Timestamp = t0,
                    seed: UInt64 = 1, configuration: SchedulerConfiguration = SchedulerConfiguration()) throws -> Plan {
        let p = try plan(spec, version: version, state: state, now: now, seed: seed, configuration: configuration)
        state.apply(p, at: now)
        for a in p.placements {
            var running = a
            running.clientStatus = .running
            state.upsert(running)
        }
        return p
    }

    /// Live allocations of a job.
    static func live(_ state: ClusterState, _ job: JobSpec) -> [Allocation] {
        state.allocations(ofJob: job.key).filter { $0.desiredStatus == .run && !$0.clientStatus.isTerminal }
    }

    /// Sets a field of an allocation in the state.
    static func update(_ state: inout ClusterState, _ id: AllocationID, _ change: (inout Allocation) -> Void) {
        var a = state.allocations[id]!
        change(&a)
        state.upsert(a)
    }

    static func updateNode(_ state: inout ClusterState, _ id: String, _ change: (inout Node) -> Void) {
        var n = state.node(NodeID(id))!
        change(&n)
        state.upsert(n)
    }
}
