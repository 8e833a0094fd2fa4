/// A set of tasks placed together on one node, `count` times.
public struct GroupSpec: Hashable, Sendable {
    public var name: String
    /// Instances wanted (ignored by system and sysbatch jobs: one per node).
    public var count: Int
    public var constraints: [Constraint]
    public var affinities: [Affinity]
    public var spreads: [Spread]
    public var restart: RestartPolicy
    public var reschedule: ReschedulePolicy
    public var disconnect: DisconnectStrategy?
    public var update: UpdateStrategy?
    public var meta: [String: String]
    public var tasks: [TaskSpec]

    /// A group with the defaults of a `type` job.
    public init(name: String, count: Int = 1, type: JobType = .service, constraints: [Constraint] = [],
                affinities: [Affinity] = [], spreads: [Spread] = [], restart: RestartPolicy? = nil,
                reschedule: ReschedulePolicy? = nil, disconnect: DisconnectStrategy? = nil,
                update: UpdateStrategy? = nil, meta: [String: String] = [:], tasks: [TaskSpec] = []) {
        self.name = name
        self.count = count
        self.constraints = constraints
        self.affinities = affinities
        self.spreads = spreads
        self.restart = restart ?? .defaults(for: type)
        self.reschedule = reschedule ?? .defaults(for: type)
        self.disconnect = disconnect
        self.update = update
        self.meta = meta
        self.tasks = tasks
    }

    /// The sum of the tasks' resources.
    public var totalResources: Resources {
        var total = Resources(cpu: 0, cores: 0, memoryMB: 0, memoryMaxMB: nil, diskMB: 0, devices: [])
        for task in tasks {
            total.cpu += task.resources.cpu
            total.cores += task.resources.cores
            total.memoryMB += task.resources.memoryMB
            if let max = task.resources.memoryMaxMB {
                total.memoryMaxMB = (total.memoryMaxMB ?? 0) + max
            }
            total.diskMB += task.resources.diskMB
            total.devices += task.resources.devices
        }
        return total
    }

    /// All inputs of all tasks.
    public var inputs: [DataInput] {
        tasks.flatMap(\.inputs)
    }

    /// A stable fingerprint of everything whose change needs the allocation
    /// replaced (tasks, constraints, restart policy); not `count`, `update`,
    /// `reschedule`, affinities or spreads, which change in place.
    /// Stable across processes (FNV-1a over a canonical rendering).
    public var fingerprint: UInt64 {
        var w = SpecWriter()
        w.put("tasks", tasks)
        w.put("constraints", constraints)
        w.put("restart", restart)
        w.put("meta", meta)
        var hash = FNV1a()
        w.value.render(into: &hash)
        return hash.value
    }
}

extension GroupSpec: SpecMappable {
    public static func read(from r: inout SpecReader) -> GroupSpec {
        read(from: &r, type: .service)
    }

    static func read(from r: inout SpecReader, type: JobType) -> GroupSpec {
        var g = GroupSpec(name: r.string("name") ?? "", type: type)
        if let v = r.int("count") { g.count = v }
        g.constraints = r.objects("constraints", Constraint.read) ?? []
        g.affinities = r.objects("affinities", Affinity.read) ?? []
        g.spreads = r.objects("spreads", Spread.read) ?? []
        g.restart = r.object("restart") { RestartPolicy.read(from: &$0, defaults: .defaults(for: type)) }
            ?? .defaults(for: type)
        g.reschedule = r.object("reschedule") { ReschedulePolicy.read(from: &$0, defaults: .defaults(for: type)) }
            ?? .defaults(for: type)
        g.disconnect = r.object("disconnect", DisconnectStrategy.read)
        g.update = r.object("update", UpdateStrategy.read)
        g.meta = r.stringMap("meta") ?? [:]
        g.tasks = r.objects("tasks", TaskSpec.read) ?? []
        return g
    }

    public var specValue: SpecValue {
        var w = SpecWriter()
        w.put("name", name)
        w.put("count", count)
        w.put("constraints", constraints)
        w.put("affinities", affinities)
        w.put("spreads", spreads)
        w.put("restart", restart)
        w.put("reschedule", reschedule)
        w.put("disconnect", disconnect)
        w.put("update", update)
        w.put("meta", meta)
        w.put("tasks", tasks)
        return w.value
    }
}
