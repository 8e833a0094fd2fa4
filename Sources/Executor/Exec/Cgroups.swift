import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What the host's cgroups let the exec driver enforce.
struct CgroupSupport: Sendable, Hashable {
    enum Version: String, Sendable, Codable {
        case v1, v2, none
    }

    var version: Version
    /// Parent directories task cgroups go in, by controller (`memory`, `cpu`,
    /// `cpuacct`); for v2 one entry, `unified`.
    var parents: [String: String]
    /// Why limits are not enforced, when they are not.
    var reason: String?

    var enforcesMemory: Bool { parents["memory"] != nil || parents["unified"] != nil }
    var enforcesCPU: Bool { parents["cpu"] != nil || parents["unified"] != nil }

    /// Probes the host: cgroup v2 when `/sys/fs/cgroup` is a unified hierarchy with
    /// the memory and cpu controllers, else v1's memory and cpu hierarchies,
    /// each only when a directory can be created in it; memory only when a
    /// limit set on a probe cgroup is kept (``probeMemoryLimit(in:file:)``).
    static func detect(root: String = "/sys/fs/cgroup", prefix: String = "caravan") -> CgroupSupport {
        let fm = FileManager.default
        if let controllers = KernelFile.text(at: root + "/cgroup.controllers") {
            let available = Set(controllers.split(whereSeparator: \.isWhitespace).map(String.init))
            guard available.contains("memory"), available.contains("cpu") else {
                return CgroupSupport(version: .none, parents: [:], reason: "cgroup v2 without the memory and cpu controllers")
            }
            let parent = root + "/" + prefix
            do {
                try fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
                try? KernelFile.put("+memory +cpu", at: root + "/cgroup.subtree_control")
                try KernelFile.put("+memory +cpu", at: parent + "/cgroup.subtree_control")
            } catch {
                return CgroupSupport(version: .none, parents: [:], reason: "cgroup v2 at \(root) is not writable: \(error.localizedDescription)")
            }
            if let problem = probeMemoryLimit(in: parent, file: "memory.max") {
                return CgroupSupport(version: .none, parents: [:], reason: "cgroup v2 at \(root): \(problem)")
            }
            return CgroupSupport(version: .v2, parents: ["unified": parent], reason: nil)
        }
        var parents: [String: String] = [:]
        var problems: [String] = []
        for controller in ["memory", "cpu", "cpuacct"] {
            let hierarchy = root + "/" + controller
            guard fm.fileExists(atPath: hierarchy + "/cgroup.procs") else {
                problems.append("no \(controller) hierarchy")
                continue
            }
            let parent = hierarchy + "/" + prefix
            do {
                try fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
            } catch {
                problems.append("\(hierarchy) is not writable")
                continue
            }
            if controller == "memory", let problem = probeMemoryLimit(in: parent, file: "memory.limit_in_bytes") {
                problems.append(problem)
                continue
            }
            parents[controller] = parent
        }
        if parents["memory"] == nil && parents["cpu"] == nil {
            return CgroupSupport(version: .none, parents: [:], reason: problems.joined(separator: "; "))
        }
        return CgroupSupport(version: .v1, parents: parents, reason: problems.isEmpty ? nil : problems.joined(separator: "; "))
    }

    /// Sets a memory limit on a throwaway child of `parent` and reads it back:
    /// `nil` when the kernel took it, else what went wrong. (A hierarchy can be
    /// writable, as a plain directory tree or a filesystem faking one, without
    /// the kernel limiting anything.)
    static func probeMemoryLimit(in parent: String, file: String) -> String? {
        let probe = parent + "/probe-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        let limit = 64 << 20
        do {
            try FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: false)
        } catch {
            return "cannot create a cgroup in \(parent): \(error.localizedDescription)"
        }
        defer { rmdir(probe) }
        guard FileManager.default.fileExists(atPath: probe + "/" + file) else {
            return "a new cgroup in \(parent) has no \(file): the kernel does not manage it"
        }
        do {
            try KernelFile.put("\(limit)", at: probe + "/" + file)
        } catch {
            return "cannot set \(file) in \(parent): \(error.localizedDescription)"
        }
        guard let read = TaskCgroup.readInt(probe + "/" + file), read == limit else {
            return "\(file) in \(parent) does not keep the limit written to it"
        }
        return nil
    }

    /// Creates the cgroups of one task and sets its limits: memory as a limit;
    /// CPU as a share of contended CPU time (v1 `cpu.shares`, v2 `cpu.weight`),
    /// as Nomad does, or as a quota per 100 ms when `hardCPULimit` (a task
    /// that spends its quota waits out the period, however idle the host).
    /// On v1, the `cpu` hierarchy only when the task asks for CPU and another
    /// hierarchy tracks its processes: each cgroup is a mkdir, a move and an
    /// rmdir per task.
    func create(taskID: String, resources: TaskResources, hardCPULimit: Bool = false) throws -> TaskCgroup {
        let name = String(taskID.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
        var group = TaskCgroup(version: version, directories: [:])
        for (controller, parent) in parents {
            if controller == "cpu", resources.cpuCores == nil, parents.count > 1 { continue }
            let directory = parent + "/" + name
            // The parents were made by `detect`; a leftover of an earlier run is reused.
            if mkdir(directory, 0o755) != 0 && errno != EEXIST {
                throw TaskDriverError.engineFailed(taskID: taskID, operation: "creating cgroup \(directory)", reason: String(cString: strerror(errno)))
            }
            group.directories[controller] = directory
        }
        switch version {
        case .v2:
            if let memory = resources.memoryBytes, let dir = group.directories["unified"] {
                try KernelFile.put("\(memory)", at: dir + "/memory.max")
                try? KernelFile.put("0", at: dir + "/memory.swap.max")
            }
            if let cores = resources.cpuCores, let dir = group.directories["unified"] {
                if hardCPULimit {
                    try KernelFile.put("\(Self.quota(cores: cores)) 100000", at: dir + "/cpu.max")
                } else {
                    try KernelFile.put("\(Self.weight(shares: Self.shares(cores: cores)))", at: dir + "/cpu.weight")
                }
            }
        case .v1:
            if let memory = resources.memoryBytes, let dir = group.directories["memory"] {
                try KernelFile.put("\(memory)", at: dir + "/memory.limit_in_bytes")
                try? KernelFile.put("\(memory)", at: dir + "/memory.memsw.limit_in_bytes")
            }
            if let cores = resources.cpuCores, let dir = group.directories["cpu"] {
                if hardCPULimit {
                    try KernelFile.put("100000", at: dir + "/cpu.cfs_period_us")
                    try KernelFile.put("\(Self.quota(cores: cores))", at: dir + "/cpu.cfs_quota_us")
                } else {
                    try KernelFile.put("\(Self.shares(cores: cores))", at: dir + "/cpu.shares")
                }
            }
        case .none:
            break
        }
        return group
    }

    /// `cores` as v1 CPU shares: 1,024 per core, as Docker counts them, and at
    /// least the kernel's minimum of 2.
    static func shares(cores: Double) -> Int {
        max(2, min(262_144, Int((cores * 1024).rounded())))
    }

    /// The v2 `cpu.weight` (1...10,000) of v1 `shares` (2...262,144), converted as runc and systemd do.
    static func weight(shares: Int) -> Int {
        1 + ((min(262_144, max(2, shares)) - 2) * 9_999) / 262_142
    }

    /// `cores` as microseconds of CPU time per 100 ms period, at least the 1 ms the kernel accepts.
    static func quota(cores: Double) -> Int {
        max(1000, Int(cores * 100_000))
    }
}

/// The cgroups of one task (one directory per v1 controller, or one v2 directory).
struct TaskCgroup: Sendable, Hashable, Codable {
    var version: CgroupSupport.Version
    var directories: [String: String]

    /// Puts the task's supervisor, `pid`, in the task's cgroups before it
    /// starts the task, or returns the v1 `tasks` files it puts itself in
    /// (the "join" lines of its protocol).
    ///
    /// Moving a process by pid takes the kernel's global cgroup lock, whose
    /// `synchronize_rcu` made joining v1's three hierarchies cost about
    /// 2.7 ms (once 16 ms) on the path from an allocation to its running task.
    /// A single-threaded process writing 0 to v1's `tasks` moves only itself
    /// and skips that lock: 0.3 ms for the three. On v2 `cgroup.procs` takes
    /// the lock either way, so the agent moves it.
    func admit(supervisor pid: Int32) throws -> [String] {
        switch version {
        case .v1:
            return directories.values.sorted().map { $0 + "/tasks" }
        case .v2, .none:
            for directory in directories.values {
                try KernelFile.put("\(pid)", at: directory + "/cgroup.procs")
            }
            return []
        }
    }

    /// Every process in the task's cgroups.
    var pids: [Int32] {
        guard let directory = directories["unified"] ?? directories["memory"] ?? directories["cpu"],
            let text = KernelFile.text(at: directory + "/cgroup.procs")
        else { return [] }
        return text.split(whereSeparator: \.isNewline).compactMap { Int32($0) }
    }

    /// Whether the kernel OOM-killed a process of the task.
    var oomKilled: Bool {
        let file: String
        switch version {
        case .v2: file = (directories["unified"] ?? "") + "/memory.events"
        case .v1: file = (directories["memory"] ?? "") + "/memory.oom_control"
        case .none: return false
        }
        guard let text = KernelFile.text(at: file) else { return false }
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == "oom_kill", let count = Int(parts[1]) { return count > 0 }
        }
        return false
    }

    /// Memory in use (and the peak, on v1), when the cgroups account for it.
    var memory: (current: Int, peak: Int?)? {
        switch version {
        case .v2:
            guard let dir = directories["unified"], let current = Self.readInt(dir + "/memory.current") else { return nil }
            return (current, Self.readInt(dir + "/memory.peak"))
        case .v1:
            guard let dir = directories["memory"], let current = Self.readInt(dir + "/memory.usage_in_bytes") else { return nil }
            return (current, Self.readInt(dir + "/memory.max_usage_in_bytes"))
        case .none:
            return nil
        }
    }

    /// CPU time used, when the cgroups account for it.
    var cpuTime: Duration? {
        switch version {
        case .v2:
            guard let dir = directories["unified"],
                let text = KernelFile.text(at: dir + "/cpu.stat"),
                let line = text.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("usage_usec ") }),
                let usec = Int64(line.split(separator: " ")[1])
            else { return nil }
            return .microseconds(usec)
        case .v1:
            guard let dir = directories["cpuacct"], let nanos = Self.readInt(dir + "/cpuacct.usage") else { return nil }
            return .nanoseconds(nanos)
        case .none:
            return nil
        }
    }

    /// Removes the task's cgroups; false while one still holds a process
    /// (the kernel refuses to remove it). Gone already counts as removed.
    @discardableResult
    func remove() -> Bool {
        var removed = true
        for directory in directories.values where rmdir(directory) != 0 && errno != ENOENT {
            removed = false
        }
        return removed
    }

    /// Removes the task's cgroups, first killing what they still hold; gives
    /// up after about a second (the kernel frees a cgroup only once its last
    /// process is gone). The common case, all processes gone, reads no pid list:
    /// on v1 each read of `cgroup.procs` builds one, and that was the exec
    /// driver's largest cost on a busy client.
    func killAndRemove() async {
        for _ in 0..<100 {
            if remove() { return }
            for pid in pids { kill(pid, SIGKILL) }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    static func readInt(_ path: String) -> Int? {
        guard let text = KernelFile.text(at: path) else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
