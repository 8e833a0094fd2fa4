import Executor
import Model

/// Why a task cannot be handed to its driver on this node. Found before any
/// driver is asked, and none of them goes away by starting the task again.
enum TaskSetupError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An input names a dataset this node does not hold.
    case missingDataset(input: String, dataset: String, available: [String])
    /// An input of a kind this client cannot provide.
    case unsupportedInput(input: String, reason: String)
    /// `kill_signal` names no signal.
    case invalidKillSignal(String)

    var description: String {
        switch self {
        case .missingDataset(let input, let dataset, let available):
            let held = available.isEmpty ? "none" : available.sorted().joined(separator: ", ")
            return "input \"\(input)\" needs dataset \"\(dataset)\", which this node does not hold (datasets here: \(held))"
        case .unsupportedInput(let input, let reason):
            return "input \"\(input)\" cannot be provided: \(reason)"
        case .invalidKillSignal(let name):
            return "kill_signal \"\(name)\" is not a signal name such as SIGINT or SIGTERM"
        }
    }
}

/// What one task of an allocation runs with on this node: the driver's view of
/// the task (Executor's `TaskSpec`), its environment variables and the host
/// paths of its input data.
struct TaskEnvironment: Sendable {
    let allocation: Allocation
    let job: JobSpec
    /// Dataset name to its host path on this node.
    let datasets: [String: String]
    /// The node's CPU speed, to turn a task's `cpu` (MHz) into cores.
    let cpuMHzPerCore: Double

    /// Drivers whose tasks see the task directory at guest paths (`/local`, ...).
    static let guestPathDrivers: Set<String> = ["docker", "wasm"]

    /// The host path of each input, by input name.
    /// - Throws: ``TaskSetupError`` when an input is a dataset this node lacks, or a URL.
    func inputPaths(for task: Model::TaskSpec) throws(TaskSetupError) -> [String: String] {
        var paths: [String: String] = [:]
        for input in task.inputs {
            switch input.source {
            case .dataset(let name):
                guard let path = datasets[name] else {
                    throw .missingDataset(input: input.name, dataset: name, available: Array(datasets.keys))
                }
                paths[input.name] = path
            case .hostPath(let path):
                paths[input.name] = path
            case .url(let url):
                throw .unsupportedInput(input: input.name, reason: "fetching \(url) is not supported by this client yet")
            }
        }
        return paths
    }

    /// The variables the allocation gives the task, on top of its own `env`.
    /// The `CARAVAN_*` ones win over a task variable of the same name, so a task
    /// can rely on them.
    func variables(for task: Model::TaskSpec, directory: TaskDirectory) -> [String: String] {
        var env = task.env
        let runtime = [
            "CARAVAN_ALLOC_ID": allocation.id.rawValue,
            "CARAVAN_ALLOC_INDEX": String(allocation.index),
            "CARAVAN_ALLOC_NAME": allocation.name,
            "CARAVAN_JOB_ID": job.id,
            "CARAVAN_JOB_NAME": job.name,
            "CARAVAN_GROUP_NAME": allocation.group,
            "CARAVAN_TASK_NAME": task.name,
            "CARAVAN_NAMESPACE": allocation.namespace,
            // Containers and WASM guests see the task directory's parts at `/local`, `/outputs`, ...
            "CARAVAN_TASK_DIR": Self.guestPathDrivers.contains(task.driver) ? "/" : directory.root,
        ]
        env.merge(runtime) { _, runtime in runtime }
        return env
    }

    /// The task as its driver sees it, for the run named `runID`.
    func driverSpec(for task: Model::TaskSpec, runID: String, directory: TaskDirectory) throws(TaskSetupError) -> Executor::TaskSpec {
        guard let killSignal = TaskSignal(name: task.killSignal) else { throw .invalidKillSignal(task.killSignal) }
        let env = variables(for: task, directory: directory)
        return Executor::TaskSpec(
            id: runID,
            name: task.name,
            allocationID: allocation.id.rawValue,
            driver: task.driver,
            config: Self.interpolate(.object(task.config.mapValues { JSONValue(spec: $0) }), env),
            env: env,
            resources: Self.limits(for: task.resources, cpuMHzPerCore: cpuMHzPerCore),
            killSignal: killSignal,
            killTimeout: task.killTimeout,
            timeout: task.timeout
        )
    }

    /// `config` with `${NAME}` in its strings replaced by the task's variable
    /// NAME, as Nomad interpolates task configuration; `${NOMAD_X}` reads
    /// `CARAVAN_X`, so Nomad job files carry over. Unknown names stay as written.
    static func interpolate(_ config: JSONValue, _ env: [String: String]) -> JSONValue {
        switch config {
        case .string(let text):
            guard text.contains("${") else { return config }
            var out = ""
            var rest = Substring(text)
            while let open = rest.range(of: "${"), let close = rest[open.upperBound...].firstIndex(of: "}") {
                out += rest[..<open.lowerBound]
                let name = String(rest[open.upperBound..<close])
                let key = name.hasPrefix("NOMAD_") ? "CARAVAN_" + name.dropFirst("NOMAD_".count) : name
                out += env[key] ?? "${\(name)}"
                rest = rest[rest.index(after: close)...]
            }
            return .string(out + rest)
        case .array(let items): return .array(items.map { interpolate($0, env) })
        case .object(let members): return .object(members.mapValues { interpolate($0, env) })
        default: return config
        }
    }

    /// The limits a driver enforces for `resources`: memory is `memory_max_mb`
    /// when oversubscription is allowed, else `memory_mb`; CPU is `cores` when
    /// set, else `cpu` MHz at `cpuMHzPerCore` per core; the drivers make it a
    /// share of contended CPU, as Nomad does, or a cap with `cpu_hard_limit`.
    static func limits(for resources: Resources, cpuMHzPerCore: Double) -> TaskResources {
        let memoryMB = resources.memoryMaxMB ?? resources.memoryMB
        let cores: Double? =
            if resources.cores > 0 { Double(resources.cores) }
            else if resources.cpu > 0, cpuMHzPerCore > 0 { Double(resources.cpu) / cpuMHzPerCore }
            else { nil }
        return TaskResources(memoryBytes: memoryMB > 0 ? memoryMB << 20 : nil, cpuCores: cores)
    }
}

extension JSONValue {
    /// A job document's value as a driver configuration value: integers and
    /// floats become numbers, maps objects, lists arrays.
    init(spec value: SpecValue) {
        switch value {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .number(Double(i))
        case .double(let d): self = .number(d)
        case .string(let s): self = .string(s)
        case .list(let items): self = .array(items.map { JSONValue(spec: $0) })
        case .map(let pairs):
            self = .object(Dictionary(pairs.map { ($0.key, JSONValue(spec: $0.value)) }, uniquingKeysWith: { first, _ in first }))
        }
    }
}
