extension JobSpec {
    /// Checks the values of a mapped job and returns every problem found, each
    /// with its field path. An empty result means the job is valid.
    public func validate() -> [SpecProblem] {
        var v = Validator()
        v.job(self)
        return v.problems
    }
}

private let signals: Set<String> = [
    "SIGHUP", "SIGINT", "SIGQUIT", "SIGKILL", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGSTOP", "SIGCONT",
    "SIGWINCH", "SIGABRT",
]

private struct Validator {
    var problems: [SpecProblem] = []

    mutating func fail(_ path: String, _ message: String) {
        problems.append(SpecProblem(path: path, message: message))
    }

    static func isIdentifier(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 128 && s.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                || $0 == "-" || $0 == "_" || $0 == "."
        }
    }

    mutating func job(_ job: JobSpec) {
        if job.id.isEmpty {
            fail("id", "is required")
        } else if !Self.isIdentifier(job.id) {
            fail("id", "\"\(job.id)\" may hold only letters, digits, '-', '_' and '.', at most 128")
        }
        if job.name.isEmpty && !job.id.isEmpty { fail("name", "must not be empty") }
        if !Self.isIdentifier(job.namespace) { fail("namespace", "\"\(job.namespace)\" is not a valid namespace") }
        if !(1...100).contains(job.priority) {
            fail("priority", "must be between 1 and 100, not \(job.priority)")
        }
        if job.datacenters.isEmpty { fail("datacenters", "must name at least one datacenter (\"*\" for all)") }
        for (i, dc) in job.datacenters.enumerated() where dc.isEmpty {
            fail("datacenters[\(i)]", "must not be empty")
        }
        constraints(job.constraints, path: "constraints")
        affinities(job.affinities, path: "affinities")
        spreads(job.spreads, path: "spreads")
        meta(job.meta, path: "meta")
        if let periodic = job.periodic {
            if job.type != .batch && job.type != .sysbatch {
                fail("periodic", "only batch and sysbatch jobs can be periodic, not \(job.type.rawValue)")
            }
            if periodic.crons.isEmpty { fail("periodic.crons", "must hold at least one cron expression") }
            for (i, cron) in periodic.crons.enumerated() where !Self.isCron(cron) {
                fail("periodic.crons[\(i)]", "\"\(cron)\" is not a cron expression of 5 or 6 fields or an @shortcut")
            }
        }
        if let p = job.parameterized {
            if job.type != .batch && job.type != .sysbatch {
                fail("parameterized", "only batch and sysbatch jobs can be parameterized, not \(job.type.rawValue)")
            }
            for key in Set(p.metaRequired).intersection(p.metaOptional).sorted() {
                fail("parameterized.meta_optional", "\"\(key)\" is also in meta_required")
            }
        }
        if job.groups.isEmpty { fail("groups", "must hold at least one group") }
        var names: Set<String> = []
        for (i, group) in job.groups.enumerated() {
            let path = "groups[\(i)]"
            if !group.name.isEmpty, !names.insert(group.name).inserted {
                fail("\(path).name", "\"\(group.name)\" is already the name of another group")
            }
            self.group(group, type: job.type, path: path)
        }
    }

    static func isCron(_ text: String) -> Bool {
        let shortcuts = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]
        if shortcuts.contains(text) { return true }
        let fields = text.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count == 5 || fields.count == 6 else { return false }
        return fields.allSatisfy { field in
            field.allSatisfy { $0.isNumber || $0.isLetter || "*/,-?LW#".contains($0) }
        }
    }

    mutating func group(_ g: GroupSpec, type: JobType, path: String) {
        if g.name.isEmpty {
            fail("\(path).name", "is required")
        } else if !Self.isIdentifier(g.name) {
            fail("\(path).name", "\"\(g.name)\" may hold only letters, digits, '-', '_' and '.'")
        }
        if g.count < 0 { fail("\(path).count", "must not be negative") }
        if (type == .system || type == .sysbatch) && g.count > 1 {
            fail("\(path).count", "\(type.rawValue) jobs run one allocation per node; count must be 0 or 1")
        }
        constraints(g.constraints, path: "\(path).constraints")
        affinities(g.affinities, path: "\(path).affinities")
        spreads(g.spreads, path: "\(path).spreads")
        meta(g.meta, path: "\(path).meta")
        restart(g.restart, path: "\(path).restart")
        reschedule(g.reschedule, type: type, path: "\(path).reschedule")
        if let d = g.disconnect, let lost = d.lostAfter, lost < .zero {
            fail("\(path).disconnect.lost_after", "must not be negative")
        }
        if let u = g.update {
            let p = "\(path).update"
            if type != .service && type != .system {
                fail(p, "rolling updates apply to service and system jobs, not \(type.rawValue)")
            }
            if u.maxParallel < 0 { fail("\(p).max_parallel", "must not be negative") }
            if u.canary < 0 { fail("\(p).canary", "must not be negative") }
            if u.canary > 0 && type == .system { fail("\(p).canary", "system jobs cannot have canaries") }
            if u.minHealthyTime < .zero { fail("\(p).min_healthy_time", "must not be negative") }
            if u.healthyDeadline <= .zero { fail("\(p).healthy_deadline", "must be greater than 0") }
            if u.minHealthyTime >= u.healthyDeadline {
                fail("\(p).min_healthy_time", "must be less than healthy_deadline (\(u.healthyDeadline.nomadText))")
            }
            if u.progressDeadline < u.healthyDeadline && u.progressDeadline != .zero {
                fail("\(p).progress_deadline", "must be at least healthy_deadline (\(u.healthyDeadline.nomadText))")
            }
            if u.autoPromote && u.canary == 0 {
                fail("\(p).auto_promote", "needs canary greater than 0")
            }
        }
        if g.tasks.isEmpty { fail("\(path).tasks", "must hold at least one task") }
        var names: Set<String> = []
        var inputNames: Set<String> = []
        for (i, task) in g.tasks.enumerated() {
            let tp = "\(path).tasks[\(i)]"
            if !task.name.isEmpty, !names.insert(task.name).inserted {
                fail("\(tp).name", "\"\(task.name)\" is already the name of another task in this group")
            }
            self.task(task, path: tp)
            for (k, input) in task.inputs.enumerated() where !input.name.isEmpty {
                if !inputNames.insert("\(task.name)/\(input.name)").inserted {
                    fail("\(tp).inputs[\(k)].name", "\"\(input.name)\" is already the name of another input")
                }
            }
        }
    }

    mutating func task(_ t: TaskSpec, path: String) {
        if t.name.isEmpty {
            fail("\(path).name", "is required")
        } else if !Self.isIdentifier(t.name) {
            fail("\(path).name", "\"\(t.name)\" may hold only letters, digits, '-', '_' and '.'")
        }
        if t.driver.isEmpty { fail("\(path).driver", "is required (such as \"exec\", \"docker\" or \"wasm\")") }
        let r = t.resources, rp = "\(path).resources"
        if r.cores < 0 { fail("\(rp).cores", "must not be negative") }
        if r.cores > 0 && r.cpu > 0 { fail("\(rp).cpu", "give either cpu or cores, not both") }
        if r.cores == 0 && r.cpu <= 0 { fail("\(rp).cpu", "must be greater than 0") }
        if r.memoryMB <= 0 { fail("\(rp).memory_mb", "must be greater than 0") }
        if let max = r.memoryMaxMB, max < r.memoryMB {
            fail("\(rp).memory_max_mb", "must be at least memory_mb (\(r.memoryMB))")
        }
        if r.diskMB < 0 { fail("\(rp).disk_mb", "must not be negative") }
        for (i, device) in r.devices.enumerated() {
            let dp = "\(rp).devices[\(i)]"
            if device.name.isEmpty { fail("\(dp).name", "is required (such as \"gpu\" or \"nvidia/gpu\")") }
            if device.count <= 0 { fail("\(dp).count", "must be greater than 0") }
            constraints(device.constraints, path: "\(dp).constraints")
        }
        if t.killTimeout < .zero { fail("\(path).kill_timeout", "must not be negative") }
        if !signals.contains(t.killSignal) {
            var message = "\"\(t.killSignal)\" is not a signal name"
            if let near = suggestion(for: t.killSignal, among: signals.sorted()) { message += "; did you mean \"\(near)\"?" }
            fail("\(path).kill_signal", message)
        }
        if let timeout = t.timeout, timeout <= .zero { fail("\(path).timeout", "must be greater than 0") }
        for key in t.env.keys.sorted() where key.isEmpty || key.contains("=") || key.first?.isNumber == true {
            fail("\(path).env", "\"\(key)\" is not a valid variable name")
        }
        meta(t.meta, path: "\(path).meta")
        for (i, input) in t.inputs.enumerated() {
            let ip = "\(path).inputs[\(i)]"
            if input.name.isEmpty { fail("\(ip).name", "is required") }
            switch input.source {
            case .dataset(let d):
                if d.isEmpty { fail("\(ip).dataset", "must not be empty") }
            case .hostPath(let p):
                if !p.hasPrefix("/") { fail("\(ip).path", "must be an absolute path, not \"\(p)\"") }
                if input.locality != .anywhere && input.locality != .preferred {
                    fail("\(ip).locality", "applies to datasets only; a host path is \"anywhere\"")
                }
            case .url(let u):
                if !(u.hasPrefix("http://") || u.hasPrefix("https://") || u.hasPrefix("s3://")) {
                    fail("\(ip).url", "\"\(u)\" must start with http://, https:// or s3://")
                }
                if input.locality == .required {
                    fail("\(ip).locality", "applies to datasets only; a URL is fetched from anywhere")
                }
            }
        }
        var outputNames: Set<String> = []
        for (i, output) in t.outputs.enumerated() {
            let op = "\(path).outputs[\(i)]"
            if output.name.isEmpty { fail("\(op).name", "is required") }
            if !output.name.isEmpty && !outputNames.insert(output.name).inserted {
                fail("\(op).name", "\"\(output.name)\" is already the name of another output")
            }
            if output.path.isEmpty { fail("\(op).path", "is required") }
            if let d = output.dataset, d.isEmpty { fail("\(op).dataset", "must not be empty") }
        }
    }

    mutating func restart(_ r: RestartPolicy, path: String) {
        if r.attempts < 0 { fail("\(path).attempts", "must not be negative") }
        if r.interval <= .zero { fail("\(path).interval", "must be greater than 0") }
        if r.delay < .zero { fail("\(path).delay", "must not be negative") }
        if r.attempts > 0, r.interval > .zero, r.delay * r.attempts > r.interval {
            fail("\(path).delay", "\(r.attempts) restarts with \(r.delay.nomadText) delay do not fit in the interval of \(r.interval.nomadText)")
        }
    }

    mutating func reschedule(_ r: ReschedulePolicy, type: JobType, path: String) {
        if r.attempts < 0 { fail("\(path).attempts", "must not be negative") }
        if r.delay < .zero { fail("\(path).delay", "must not be negative") }
        if r.maxDelay < r.delay && r.delayFunction != .constant {
            fail("\(path).max_delay", "must be at least delay (\(r.delay.nomadText))")
        }
        if !r.unlimited, r.attempts > 0, r.interval <= .zero {
            fail("\(path).interval", "must be greater than 0 when attempts are limited")
        }
        if (type == .system || type == .sysbatch) && r.isEnabled {
            fail(path, "\(type.rawValue) jobs are not rescheduled; remove this block")
        }
    }

    mutating func meta(_ meta: [String: String], path: String) {
        for key in meta.keys.sorted() where key.isEmpty {
            fail(path, "keys must not be empty")
        }
    }

    mutating func constraints(_ list: [Constraint], path: String) {
        for (i, c) in list.enumerated() {
            check(attribute: c.attribute, operator: c.operator, value: c.value, path: "\(path)[\(i)]")
        }
    }

    mutating func affinities(_ list: [Affinity], path: String) {
        for (i, a) in list.enumerated() {
            let p = "\(path)[\(i)]"
            check(attribute: a.attribute, operator: a.operator, value: a.value, path: p)
            if a.operator.isPlacementWide {
                fail("\(p).operator", "\(a.operator.rawValue) is for constraints, not affinities")
            }
            if a.weight == 0 || !(-100...100).contains(a.weight) {
                fail("\(p).weight", "must be between -100 and 100 and not 0, not \(a.weight)")
            }
        }
    }

    mutating func spreads(_ list: [Spread], path: String) {
        for (i, s) in list.enumerated() {
            let p = "\(path)[\(i)]"
            if s.attribute.isEmpty { fail("\(p).attribute", "is required") }
            if !(0...100).contains(s.weight) { fail("\(p).weight", "must be between 0 and 100, not \(s.weight)") }
            var sum = 0
            var values: Set<String> = []
            for (k, t) in s.targets.enumerated() {
                if t.value.isEmpty { fail("\(p).targets[\(k)].value", "is required") }
                if !values.insert(t.value).inserted {
                    fail("\(p).targets[\(k)].value", "\"\(t.value)\" is already a target")
                }
                if !(0...100).contains(t.percent) {
                    fail("\(p).targets[\(k)].percent", "must be between 0 and 100, not \(t.percent)")
                }
                sum += t.percent
            }
            if sum > 100 { fail("\(p).targets", "percentages add up to \(sum), more than 100") }
        }
    }

    mutating func check(attribute: String, operator op: ConstraintOperator, value: String, path: String) {
        if attribute.isEmpty && op != .distinctHosts {
            fail("\(path).attribute", "is required for operator \(op.rawValue)")
        }
        if op.needsValue && value.isEmpty {
            fail("\(path).value", "is required for operator \(op.rawValue)")
        }
        if attribute.contains("${") && !attribute.contains("}") {
            fail("\(path).attribute", "\"\(attribute)\" has an unclosed \"${\"")
        }
        switch op {
        case .regexp where !value.isEmpty:
            do {
                _ = try Regex(value)
            } catch {
                fail("\(path).value", "\"\(value)\" is not a valid regular expression")
            }
        case .version where !value.isEmpty:
            if VersionRequirement(value) == nil {
                fail("\(path).value", "\"\(value)\" is not a version requirement such as \">= 1.2, < 2.0\"")
            }
        case .semver where !value.isEmpty:
            if VersionRequirement(value, strict: true) == nil {
                fail("\(path).value", "\"\(value)\" is not a semantic version requirement such as \">= 1.2.0\"")
            }
        case .distinctProperty where !value.isEmpty:
            if (Int(value) ?? 0) <= 0 { fail("\(path).value", "must be a positive count, not \"\(value)\"") }
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            break
        default:
            break
        }
    }
}
