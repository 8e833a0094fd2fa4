/// The kind of a job, which decides how the scheduler reconciles it.
public enum JobType: String, CaseIterable, Hashable, Codable, Sendable {
    /// Runs to completion; failed allocations restart, then reschedule.
    case batch
    /// Keeps `count` allocations running; rolling updates.
    case service
    /// One allocation on every eligible node, including nodes joining later.
    case system
    /// Runs once to completion on every eligible node.
    case sysbatch
}

/// Launches a batch job on a cron schedule.
public struct PeriodicConfig: Hashable, Sendable {
    /// Five-field cron expressions (or "@daily", "@hourly", ...).
    public var crons: [String]
    /// Skip a launch while the previous one still runs.
    public var prohibitOverlap: Bool
    public var timeZone: String
    public var enabled: Bool

    public init(crons: [String], prohibitOverlap: Bool = false, timeZone: String = "UTC", enabled: Bool = true) {
        self.crons = crons
        self.prohibitOverlap = prohibitOverlap
        self.timeZone = timeZone
        self.enabled = enabled
    }
}

/// Whether a dispatch of a parameterized job carries a payload.
public enum PayloadRequirement: String, CaseIterable, Hashable, Codable, Sendable {
    case optional
    case required
    case forbidden
}

/// Makes the job a template that is run by dispatching it with meta and payload.
public struct ParameterizedConfig: Hashable, Sendable {
    public var payload: PayloadRequirement
    public var metaRequired: [String]
    public var metaOptional: [String]

    public init(payload: PayloadRequirement = .optional, metaRequired: [String] = [], metaOptional: [String] = []) {
        self.payload = payload
        self.metaRequired = metaRequired
        self.metaOptional = metaOptional
    }
}

/// A job specification: what to run, where, and how to keep it running.
///
/// Read it from a job file with ``parse(yaml:)`` (JSON too), which reports every
/// problem at once with its field path; its `Codable` form is the same document
/// (snake_case keys, durations as "30s").
public struct JobSpec: Hashable, Sendable {
    public var id: String
    /// Defaults to `id`.
    public var name: String
    public var namespace: String
    public var type: JobType
    /// 1…100, default 50. Higher-priority jobs are scheduled first and may
    /// preempt allocations at least 10 lower.
    public var priority: Int
    /// Datacenters the job may run in; "*" globs. Default ["*"].
    public var datacenters: [String]
    public var constraints: [Constraint]
    public var affinities: [Affinity]
    public var spreads: [Spread]
    public var meta: [String: String]
    public var periodic: PeriodicConfig?
    public var parameterized: ParameterizedConfig?
    public var groups: [GroupSpec]

    public init(id: String, name: String? = nil, namespace: String = "default", type: JobType = .service,
                priority: Int = 50, datacenters: [String] = ["*"], constraints: [Constraint] = [],
                affinities: [Affinity] = [], spreads: [Spread] = [], meta: [String: String] = [:],
                periodic: PeriodicConfig? = nil, parameterized: ParameterizedConfig? = nil,
                groups: [GroupSpec] = []) {
        self.id = id
        self.name = name ?? id
        self.namespace = namespace
        self.type = type
        self.priority = priority
        self.datacenters = datacenters
        self.constraints = constraints
        self.affinities = affinities
        self.spreads = spreads
        self.meta = meta
        self.periodic = periodic
        self.parameterized = parameterized
        self.groups = groups
    }

    /// The default job priority.
    public static let defaultPriority = 50

    /// The group named `name`.
    public func group(named name: String) -> GroupSpec? {
        groups.first { $0.name == name }
    }
}

// MARK: - Reading job files

extension JobSpec {
    /// Reads and validates a job file in YAML or JSON.
    ///
    /// - Throws: ``JobSpecError`` listing every problem: syntax, unknown keys
    ///   (with a suggestion), wrong types and invalid values, each with its path.
    public static func parse(yaml text: String) throws(JobSpecError) -> JobSpec {
        let tree = try SpecValue.parse(yaml: text)
        return try parse(document: tree)
    }

    /// Reads and validates a job in JSON (the same document as YAML).
    public static func parse(json text: String) throws(JobSpecError) -> JobSpec {
        try parse(yaml: text)
    }

    /// Maps and validates a document tree, reporting every problem at once.
    public static func parse(document tree: SpecValue) throws(JobSpecError) -> JobSpec {
        let diagnostics = SpecDiagnostics()
        var reader = SpecReader(tree, path: "", diagnostics: diagnostics)
        let job = read(from: &reader)
        reader.finish()
        let mappingProblems = diagnostics.problems
        let validationProblems = job.validate()
        // Leave out validation findings on fields that already failed to map.
        let mapped = Set(mappingProblems.map(\.path))
        let all = mappingProblems + validationProblems.filter { !mapped.contains($0.path) }
        if !all.isEmpty { throw JobSpecError(all) }
        return job
    }
}

extension PeriodicConfig: SpecMappable {
    public static func read(from r: inout SpecReader) -> PeriodicConfig {
        var crons = r.stringList("crons") ?? []
        if let cron = r.string("cron") { crons.append(cron) }
        var p = PeriodicConfig(crons: crons)
        if let v = r.bool("prohibit_overlap") { p.prohibitOverlap = v }
        if let v = r.string("time_zone") { p.timeZone = v }
        if let v = r.bool("enabled") { p.enabled = v }
        return p
    }

    public var specValue: SpecValue {
        var w = SpecWriter()
        w.put("crons", crons, omitEmpty: false)
        w.put("prohibit_overlap", prohibitOverlap)
        w.put("time_zone", timeZone)
        w.put("enabled", enabled)
        return w.value
    }
}

extension ParameterizedConfig: SpecMappable {
    public static func read(from r: inout SpecReader) -> ParameterizedConfig {
        ParameterizedConfig(
            payload: r.choice("payload", PayloadRequirement.self) ?? .optional,
            metaRequired: r.stringList("meta_required") ?? [],
            metaOptional: r.stringList("meta_optional") ?? []
        )
    }

    public var specValue: SpecValue {
        var w = SpecWriter()
        w.put("payload", payload.rawValue)
        w.put("meta_required", metaRequired)
        w.put("meta_optional", metaOptional)
        return w.value
    }
}

extension JobSpec: SpecMappable {
    public static func read(from r: inout SpecReader) -> JobSpec {
        let type = r.choice("type", JobType.self) ?? .service
        var job = JobSpec(id: r.string("id") ?? "", type: type)
        job.name = r.string("name") ?? job.id
        if let v = r.string("namespace") { job.namespace = v }
        if let v = r.int("priority") { job.priority = v }
        if let v = r.stringList("datacenters") { job.datacenters = v }
        job.constraints = r.objects("constraints", Constraint.read) ?? []
        job.affinities = r.objects("affinities", Affinity.read) ?? []
        job.spreads = r.objects("spreads", Spread.read) ?? []
        job.meta = r.stringMap("meta") ?? [:]
        job.periodic = r.object("periodic", PeriodicConfig.read)
        job.parameterized = r.object("parameterized", ParameterizedConfig.read)
        job.groups = r.objects("groups") { GroupSpec.read(from: &$0, type: type) } ?? []
        return job
    }

    public var specValue: SpecValue {
        var w = SpecWriter()
        w.put("id", id)
        if name != id { w.put("name", name) }
        w.put("namespace", namespace)
        w.put("type", type.rawValue)
        w.put("priority", priority)
        w.put("datacenters", datacenters, omitEmpty: false)
        w.put("constraints", constraints)
        w.put("affinities", affinities)
        w.put("spreads", spreads)
        w.put("meta", meta)
        w.put("periodic", periodic)
        w.put("parameterized", parameterized)
        w.put("groups", groups)
        return w.value
    }
}
